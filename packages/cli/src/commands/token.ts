// fleet token create|revoke|ls: the controller's bearer tokens. The secret is
// printed once, at creation; the controller keeps only its hash.
import type { Command } from 'commander';
import type { TokenInfo } from '@fleet/protocol';
import type { CommandContext } from '../context';
import { EXIT_OK } from '../exit-codes';
import { renderTable } from '../format/table';

interface TokenFlags {
  json?: boolean;
  context?: string;
  role?: string;
  name?: string;
}

function withContext(ctx: CommandContext, flags: TokenFlags): void {
  if (flags.context) ctx.contextName = flags.context;
}

export function registerToken(program: Command, ctx: CommandContext): void {
  const token = program.command('token').description("manage the controller's access tokens (operator only)");
  token
    .command('create')
    .description('create a token; its secret is shown once')
    .requiredOption('--role <role>', 'agent (an agent link), operator (everything) or viewer (ls, hosts, logs)')
    .option('--name <name>', 'a label to recognise it by (e.g. web1, ci, alice)')
    .option('--context <name>', 'the controller to talk to')
    .option('--json', 'machine output: {info, token}')
    .action(async (flags: TokenFlags) => {
      withContext(ctx, flags);
      const api = await ctx.connect();
      const res = await api.createToken({ role: flags.role ?? '', name: flags.name ?? '' });
      if (flags.json) ctx.json(res);
      else {
        ctx.out(`${res.token}\n`);
        ctx.err(`created ${res.info!.role} token ${res.info!.id}${res.info!.name ? ` (${res.info!.name})` : ''}; this is the only time it is shown\n`);
      }
      ctx.exitCode = EXIT_OK;
    });
  token
    .command('revoke')
    .description('revoke a token at once (by id or name)')
    .argument('<id|name>')
    .option('--context <name>', 'the controller to talk to')
    .option('--json', 'machine output')
    .action(async (id: string, flags: TokenFlags) => {
      withContext(ctx, flags);
      const api = await ctx.connect();
      const res = await api.revokeToken({ id });
      if (flags.json) ctx.json(res);
      else ctx.out(`revoked ${res.info!.role} token ${res.info!.id}${res.info!.name ? ` (${res.info!.name})` : ''}\n`);
    });
  token
    .command('ls')
    .alias('list')
    .description('list tokens (never their secrets)')
    .option('--context <name>', 'the controller to talk to')
    .option('--json', 'machine output')
    .action(async (flags: TokenFlags) => {
      withContext(ctx, flags);
      const api = await ctx.connect();
      const { tokens } = await api.listTokens();
      if (flags.json) ctx.json(tokens);
      else ctx.out(renderTokens(tokens));
    });
}

function renderTokens(tokens: TokenInfo[]): string {
  return renderTable(
    [{ header: 'id' }, { header: 'role' }, { header: 'name' }, { header: 'created' }],
    tokens.map((t) => [t.id, t.role, t.name || '-', new Date(t.createdMs).toISOString()]),
  );
}
