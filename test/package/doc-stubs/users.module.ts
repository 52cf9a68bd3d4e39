// A stand-in for an app's own users module (see test/package/doc-snippets.cjs).
import { Module } from '@nestjs/common';
import { UsersService } from './users.service';

@Module({ providers: [UsersService], exports: [UsersService] })
export class UsersModule {}
