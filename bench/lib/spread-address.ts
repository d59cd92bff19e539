/** The i-th simulated node's own loopback address: 250 per /24 from 127.0.10.1 on (127.0.10.x–127.0.13.x for 1,000, to 127.0.29.x for 5,000). */
export const spreadAddress = (i: number): string => `127.0.${10 + Math.floor(i / 250)}.${(i % 250) + 1}`;

/** The i-th simulated agent's node name. */
export const agentName = (i: number): string => `a${i + 1}`;
