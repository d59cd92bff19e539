import path from 'node:path';
import { Command } from 'commander';
import { COMMAND_SUMMARIES } from './command-summaries.js';
import { Daemon } from '../daemon/daemon.js';
import { DEMO_LISTENERS, demoInstructions, startDemo, type Demo } from '../daemon/demo.js';
import { addConnectionOptions, addKubeletTlsOptions, addListenerOptions, configFromCommandLine, type ConnectionFlags } from './connection-options.js';
import { reportFailure } from './command-failure.js';

interface DaemonFlags extends ConnectionFlags {
  demo?: boolean;
}

/** `ssh-egress daemon`: the pool and dialer as a service, behind HTTP CONNECT and SOCKS5 listeners. */
export function daemonCommand(setExitCode: (code: number) => void): Command {
  const command = new Command('daemon')
    .description(COMMAND_SUMMARIES.daemon)
    .option('--demo', 'run against a built-in simulated cluster (no cluster needed) and print commands to try')
    .addHelpText(
      'after',
      `
Signals: SIGHUP reloads the config and applies it in place (all but the agent listener's address and host
key; healthy tunnels are kept, moved listeners rebound with open streams kept) and re-reads host-key trust;
SIGTERM or SIGINT stops accepting, lets open streams finish (drain.graceMs), then exits 0; a second signal
exits at once.

Examples:
  ssh-egress daemon --config /etc/ssh-egress/ssh-egress.yaml
  ssh-egress daemon --inventory nodes.yaml -i id_ed25519 --known-hosts known_hosts \\
    --connect-socket /run/ssh-egress/egress.sock --admin-listen 127.0.0.1:8132
  ssh-egress daemon --inventory nodes.yaml -i id_ed25519 --known-hosts known_hosts \\
    --connect-listen 127.0.0.1:8131      # plain CONNECT on loopback: curl -p -x http://127.0.0.1:8131 ...
  ssh-egress daemon --demo`,
    );
  addKubeletTlsOptions(addListenerOptions(addConnectionOptions(command))).action(async (flags: DaemonFlags) => {
    let demo: Demo | undefined;
    try {
      if (flags.demo) {
        demo = await startDemo(listenersFor(flags));
        flags.config = demo.configFile;
      }
      const daemon = await Daemon.start(() => configFromCommandLine(flags));
      if (demo) process.stdout.write(demoInstructions(demo, listenersFor(flags), invocation()));
      await runUntilStopped(daemon);
    } catch (err) {
      setExitCode(reportFailure('daemon', err));
    } finally {
      await demo?.stop();
    }
  });
  return command;
}

/** Serves until SIGTERM/SIGINT (drain, then resolve); SIGHUP reloads; a second stop signal exits at once. */
function runUntilStopped(daemon: Daemon): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onReload = (): void => void daemon.reload();
    const onStop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        daemon.log.warn(`second ${signal}: exiting now`);
        process.exit(1);
      }
      stopping = true;
      daemon.log.info(`${signal}: draining`);
      void daemon.shutdown().then(() => {
        process.off('SIGHUP', onReload);
        process.off('SIGTERM', onStop);
        process.off('SIGINT', onStop);
        resolve();
      });
    };
    process.on('SIGHUP', onReload);
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
  });
}

function listenersFor(flags: DaemonFlags) {
  return {
    // With TLS flags --connect-listen is a mutual TLS listener, not the demo's plain one.
    connect: flags.tlsCert ?? flags.tlsKey ?? flags.clientCa ? DEMO_LISTENERS.connect : (flags.connectListen ?? DEMO_LISTENERS.connect),
    socks: flags.socksListen ?? DEMO_LISTENERS.socks,
    admin: flags.adminListen ?? DEMO_LISTENERS.admin,
  };
}

/** How this process was started, so printed commands work when pasted (from the source tree or installed). */
function invocation(): string {
  const script = process.argv[1] ? path.relative(process.cwd(), process.argv[1]) || process.argv[1] : 'ssh-egress';
  return [path.basename(process.argv0), ...process.execArgv, script].join(' ');
}
