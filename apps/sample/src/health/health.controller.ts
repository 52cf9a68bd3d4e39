import { Controller, Get } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Public, ServiceUnavailableError } from 'nest-sessions';

@Controller('health')
@Public()
export class HealthController {
  constructor(private readonly dataSource: DataSource) {}

  @Get()
  async health() {
    try {
      await this.dataSource.query('SELECT 1');
    } catch {
      throw new ServiceUnavailableError();
    }
    return { status: 'ok', db: 'up' };
  }
}
