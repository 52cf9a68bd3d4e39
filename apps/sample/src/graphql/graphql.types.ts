import { ArgsType, Field, GraphQLISODateTime, ID, ObjectType } from '@nestjs/graphql';
import { IsString, MaxLength, MinLength } from 'class-validator';

/** `me`: the signed-in user, as `GET /me` answers it. */
@ObjectType('Me')
export class MeType {
  @Field(() => ID) id!: string;
  @Field(() => String) email!: string;
  @Field(() => [String]) roles!: string[];
  @Field(() => ID) sessionId!: string;
}

/** A note, as `GET /notes` answers it. */
@ObjectType('Note')
export class NoteType {
  @Field(() => ID) id!: string;
  @Field(() => String) text!: string;
  @Field(() => GraphQLISODateTime) createdAt!: Date;
}

/** `addNote(text)`: validated like `POST /notes` (the app's ValidationPipe runs on resolvers too). */
@ArgsType()
export class AddNoteArgs {
  @Field(() => String)
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  text!: string;
}
