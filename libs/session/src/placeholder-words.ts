/**
 * The words placeholder secrets are written in: the most common English words and the vocabulary
 * of configuration examples. A run of letters that splits entirely into these reads as words. The
 * list is short on purpose: the longer it is, the more often random letters split into it, and
 * the bound on that (secret-strength.bounds.spec.ts) is computed from the words' lengths.
 */
const BASE_WORDS = (
    // common English
    'a i am an as at be by do go he if in is it me my no of on or so to up us we ' +
    'all and any are but can did for get has her him his how its let may new not now one our out ' +
    'own put say see set she the too two use was way who why yes yet you ' +
    'also back been best come each even from give good have here just keep know like long made make ' +
    'many more most much must need next only over part same some such sure take than that them then ' +
    'they this time very want well were what when will with word your ' +
    'about after again before being could every first great other place right should still their ' +
    'there these thing think those three under where which while would write ' +
    'always another because between correct create enough inside instead little longer outside ' +
    'please really source change strong random secret simple string unique value values ' +
    'horse battery staple words chars characters bits bytes least length letters numbers digits ' +
    // configuration and placeholder vocabulary
    'app api auth access admin cookie code config crypto default demo dev development env example ' +
    'fake generate hash hidden jwt key keys local mine my pass passphrase password private prod ' +
    'production public refresh replace safe sample secure session sign signing super supersecret ' +
    'temp test token todo complex dummy insecure placeholder qwerty letmein welcome hello world ' +
    'account backup client cloud data database internal live main master report reporting root ' +
    'server service services staging system user users webhook application deploy signature'
).split(/\s+/);

/** A word and its plain inflections (`secrets`, `goes`, `used`, `signing`), as placeholders write them. */
function inflections(word: string): string[] {
  const stem = word.endsWith('e') ? word.slice(0, -1) : word;
  return [word, `${word}s`, `${word}es`, `${stem}ed`, `${stem}ing`];
}

export const PLACEHOLDER_WORDS: ReadonlySet<string> = new Set(BASE_WORDS.flatMap(inflections));
