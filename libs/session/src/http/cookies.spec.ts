import { readCookie, type CookieRead } from './cookies';

const read = (cookie: string | undefined, name = '__Host-ns-at'): CookieRead => readCookie({ headers: cookie === undefined ? {} : { cookie } }, name);

describe('readCookie', () => {
  it.each<[string, string | undefined, CookieRead]>([
    ['no Cookie header', undefined, { status: 'absent' }],
    ['an empty header', '', { status: 'absent' }],
    ['other cookies only', 'a=1; b=2', { status: 'absent' }],
    ['the cookie alone', '__Host-ns-at=tok', { status: 'ok', value: 'tok' }],
    ['among others, spaces around', 'a=1;  __Host-ns-at = tok ; b=2', { status: 'ok', value: 'tok' }],
    ['last, no space after the semicolon', 'a=1;__Host-ns-at=tok', { status: 'ok', value: 'tok' }],
    ['a value with = in it', '__Host-ns-at=a=b', { status: 'ok', value: 'a=b' }],
    ['a quoted value', '__Host-ns-at="tok"', { status: 'ok', value: 'tok' }],
    ['a lone quote is kept', '__Host-ns-at="', { status: 'ok', value: '"' }],
    ['an empty value', '__Host-ns-at=', { status: 'absent' }],
    ['an empty quoted value', '__Host-ns-at=""', { status: 'absent' }],
    ['parts without =', 'junk; __Host-ns-at=tok; ;', { status: 'ok', value: 'tok' }],
    ['twice', '__Host-ns-at=a; __Host-ns-at=b', { status: 'conflict' }],
    ['twice with the same value', '__Host-ns-at=a; __Host-ns-at=a', { status: 'conflict' }],
    ['without its prefix (planted by a sibling subdomain)', 'ns-at=x; __Host-ns-at=tok', { status: 'conflict' }],
    ['without its prefix, alone', 'ns-at=x', { status: 'conflict' }],
    ['another prefix', '__Secure-ns-at=x; __Host-ns-at=tok', { status: 'conflict' }],
    ['another case', '__host-NS-AT=x; __Host-ns-at=tok', { status: 'conflict' }],
    ['a longer name is another cookie', '__Host-ns-at2=x; x__Host-ns-at=y; __Host-ns-at=tok', { status: 'ok', value: 'tok' }],
    ['a shorter name is another cookie', '__Host-ns-a=x; __Host-ns-at=tok', { status: 'ok', value: 'tok' }],
  ])('%s', (_case, header, expected) => {
    expect(read(header)).toEqual(expected);
  });

  it('an unprefixed name: a prefixed look-alike conflicts, another case too', () => {
    expect(read('ns-rt=tok', 'ns-rt')).toEqual({ status: 'ok', value: 'tok' });
    expect(read('__Secure-ns-rt=x; ns-rt=tok', 'ns-rt')).toEqual({ status: 'conflict' });
    expect(read('NS-RT=x', 'ns-rt')).toEqual({ status: 'conflict' });
    expect(read('__SECURE-ns-rt=x', 'ns-rt')).toEqual({ status: 'conflict' });
  });
});
