import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { User } from './user.entity';
import { UsersService } from './users.service';
import { PasswordHasher } from './password-hasher';
import { AuthController } from './auth.controller';
import { AccountController } from './account.controller';
import { AuthRateLimits } from '../http/auth-rate-limits';

@Module({
  imports: [TypeOrmModule.forFeature([User]), AuditModule],
  controllers: [AuthController, AccountController],
  providers: [UsersService, PasswordHasher, AuthRateLimits],
  exports: [UsersService],
})
export class UsersModule {}
