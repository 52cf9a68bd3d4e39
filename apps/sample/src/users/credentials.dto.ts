import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean, IsEmail, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

export class CredentialsDto {
  @ApiProperty({ format: 'email', maxLength: 254, example: 'ada@example.com' })
  @IsString()
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  email!: string;

  /** 8 to 128 characters (ASVS 6.2.1, 6.2.9); argon2 has no 72-byte limit. */
  @ApiProperty({ minLength: 8, maxLength: 128, example: 'correct horse battery' })
  @IsString()
  @MinLength(8)
  @MaxLength(128)
  password!: string;
}

/** Login: the credentials, and whether to stay signed in ("remember me"). */
export class LoginDto extends CredentialsDto {
  @ApiProperty({ required: false, description: 'Stay signed in: longer lifetimes and cookies that outlive the browser session (when the app has REMEMBER_ME on).' })
  @IsOptional()
  @IsBoolean()
  rememberMe?: boolean;
}
