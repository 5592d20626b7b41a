/**
 * Fleet membership from heartbeats. A member is alive while its last heartbeat
 * is younger than 1.5 of its own heartbeat periods: a late heartbeat has half a
 * period of slack, and a dead member is noticed 1.5 periods after its last
 * heartbeat (plus the evaluation tick, a quarter period), so within two
 * periods of its death. Ages are measured on the NATS server's clock (the
 * stream timestamp of the heartbeat), so hosts need not agree on the time.
 * nats-server 2.9 cannot expire single keys and says nothing to watchers when
 * max_age removes a message, so expiry is computed here. Pure.
 */

/** How many of its own heartbeat periods a member may stay silent. */
export const MEMBER_EXPIRY_PERIODS = 1.5;

export interface Member {
  instance: string;
  /** Server time (ms) of its last heartbeat. */
  seenAt: number;
  /** Its heartbeat period, seconds. */
  interval: number;
  startedAt: number;
  configVersion: number | null;
  configSha256: string | null;
  configError: string | null;
  software: string;
}

export function isAlive(m: Pick<Member, 'seenAt' | 'interval'>, now: number): boolean {
  return now - m.seenAt <= MEMBER_EXPIRY_PERIODS * m.interval * 1000;
}

/** The live members' names, sorted. */
export function liveMembers(members: Iterable<Member>, now: number): string[] {
  const live: string[] = [];
  for (const m of members) if (isAlive(m, now)) live.push(m.instance);
  return live.sort();
}
