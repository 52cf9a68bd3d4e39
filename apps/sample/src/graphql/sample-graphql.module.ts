import { Module } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule } from '@nestjs/graphql';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { GraphQLFormattedError } from 'graphql';
import { Note } from '../notes/note.entity';
import { UsersModule } from '../users/users.module';
import { NotesResolver } from './notes.resolver';
import { SessionResolver } from './session.resolver';
import { NoSubscriptionsRule } from './no-subscriptions.rule';

/**
 * What a client sees of an error: the message, where it happened, and `extensions.code` (the
 * library's stable code, the sample's, or Apollo's for a malformed query) with the HTTP status it
 * stands for. Never a stack trace or the original exception; an unexpected error (a bug) says
 * only that something went wrong (ErrorBodyFilter has logged its class).
 */
export function formatGraphQLError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const { code, statusCode } = (formatted.extensions ?? {}) as { code?: unknown; statusCode?: unknown };
  const internal = typeof code !== 'string' || code === 'INTERNAL_SERVER_ERROR' || code === 'INTERNAL_ERROR';
  return {
    message: internal ? 'Something went wrong.' : formatted.message,
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: internal ? { code: 'INTERNAL_ERROR', statusCode: 500 } : { code, ...(typeof statusCode === 'number' ? { statusCode } : {}) },
  };
}

/**
 * GraphQL at `POST /graphql` (under the global prefix when there is one), Apollo on Express and
 * on Fastify alike, with a schema built in memory from the resolvers (code first, no file
 * written). The resolvers use the library's guards and decorators as the controllers do; the
 * app's global `CsrfGuard` checks cookie-authenticated mutations.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([Note]),
    UsersModule,
    GraphQLModule.forRoot<ApolloDriverConfig>({
      driver: ApolloDriver,
      path: '/graphql',
      useGlobalPrefix: true,
      autoSchemaFile: true,
      sortSchema: true,
      graphiql: false,
      includeStacktraceInErrorResponses: false,
      formatError: formatGraphQLError,
      validationRules: [NoSubscriptionsRule],
    }),
  ],
  providers: [SessionResolver, NotesResolver],
})
export class SampleGraphQLModule {}
