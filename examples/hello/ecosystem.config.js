// A PM2 ecosystem file, as PM2 users write them: Fleet runs it unchanged.
module.exports = {
  apps: [
    {
      name: 'hello',
      script: './server.js',
      instances: 2,
      exec_mode: 'cluster',
      wait_ready: true,
      max_memory_restart: '200M',
      log_date_format: 'YYYY-MM-DD HH:mm:ss.SSS',
      env: { PORT: 3000, GREETING: 'dev' },
      env_production: { PORT: 3000, GREETING: 'production', NODE_ENV: 'production' },
    },
  ],
};
