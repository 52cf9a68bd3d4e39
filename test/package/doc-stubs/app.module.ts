// A stand-in for an app's root module, for the doc snippets that boot it (see test/package/doc-snippets.cjs).
import { Module } from '@nestjs/common';

@Module({})
export class AppModule {}
