/**
 * The bench sink playing receiving providers (the shaping lane): per recipient domain, a rate it
 * accepts (a token bucket holding one second's worth: a sender over `perSecond` for longer than a
 * burst gets Gmail's `421 4.7.28` and loses the connection) and a number of transactions it takes at
 * once (over `maxConnections`, Microsoft's `421 4.7.0 too many connections`). A transaction counts
 * from its accepted RCPT until its DATA ends, the next MAIL or the connection closes. `replyMs`
 * plays an MX that takes that long to answer the end of DATA (a real one takes tens to hundreds
 * of ms): without it a transaction lasts microseconds, and how busy a connection-limited
 * provider's connections were measures nothing. Over `messagesPerConnection` of the domain's
 * messages on one connection, `421 4.7.0 too many messages on this connection`.
 */
export interface SinkProviderRule {
  perSecond?: number;
  maxConnections?: number;
  replyMs?: number;
  messagesPerConnection?: number;
}

export interface DomainStats {
  count: number;
  firstAt: number | null;
  lastAt: number | null;
  /** first message per Feedback-ID kind (digest, alert) */
  firstByKind: Record<string, number>;
  /** 421 replies this domain's rules gave */
  throttled: number;
  /** the most transactions open at once */
  peakOpen: number;
  /** transactions open, integrated over time (ms): / (limit x window) is how busy its connections were */
  openMs: number;
  /** messages accepted per epoch second */
  bySecond: Record<string, number>;
}

interface DomainState {
  tokens: number;
  at: number;
  open: number;
  /** when `open` last changed */
  changedAt: number;
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

export function createSinkProviders() {
  let rules = new Map<string, SinkProviderRule>();
  let state = new Map<string, DomainState>();
  let stats: Record<string, DomainStats> = {};
  const statsOf = (domain: string) => {
    let s = stats[domain];
    if (!s) {
      s = {
        count: 0,
        firstAt: null,
        lastAt: null,
        firstByKind: {},
        throttled: 0,
        peakOpen: 0,
        openMs: 0,
        bySecond: {},
      };
      stats[domain] = s;
    }
    return s;
  };
  const stateOf = (domain: string, rule: SinkProviderRule) => {
    let st = state.get(domain);
    if (!st) {
      st = { tokens: rule.perSecond ?? 0, at: Date.now(), open: 0, changedAt: Date.now() };
      state.set(domain, st);
    }
    return st;
  };
  type Session = { benchOpenDomain?: string; benchCarried?: Map<string, number> };
  const change = (domain: string, st: DomainState, by: number) => {
    const now = Date.now();
    statsOf(domain).openMs += st.open * (now - st.changedAt);
    st.changedAt = now;
    st.open = Math.max(0, st.open + by);
  };
  const close = (session: Session) => {
    const d = session.benchOpenDomain;
    if (d === undefined) return;
    session.benchOpenDomain = undefined;
    const st = state.get(d);
    if (st) change(d, st, -1);
  };

  return {
    /** replaces the rules (an empty object: every domain unlimited) and clears the counters */
    set(next: Record<string, SinkProviderRule>) {
      rules = new Map(Object.entries(next).map(([d, r]) => [d.toLowerCase(), r]));
      state = new Map();
      stats = {};
    },
    reset() {
      state = new Map();
      stats = {};
    },
    stats: () => structuredClone(stats),
    /** a new transaction on the session (MAIL FROM) ends the previous one */
    mailFrom: (session: object) => close(session as Session),
    closed: (session: object) => close(session as Session),
    /** RCPT TO: undefined to accept, or the refusal */
    rcpt(address: string, session: object): Error | undefined {
      const domain = domainOf(address);
      const rule = rules.get(domain);
      if (!rule) return undefined;
      const st = stateOf(domain, rule);
      const refuse = (message: string) => {
        statsOf(domain).throttled++;
        return Object.assign(new Error(message), { responseCode: 421 });
      };
      if (rule.maxConnections && st.open >= rule.maxConnections)
        return refuse('4.7.0 Too many connections from your IP (throttled), try again later');
      const s = session as Session;
      const carried = s.benchCarried?.get(domain) ?? 0;
      if (rule.messagesPerConnection && carried >= rule.messagesPerConnection)
        return refuse('4.7.0 Too many messages on this connection, reconnect and try again');
      if (rule.perSecond) {
        const now = Date.now();
        st.tokens = Math.min(rule.perSecond, st.tokens + ((now - st.at) * rule.perSecond) / 1000);
        st.at = now;
        if (st.tokens < 1)
          return refuse('4.7.28 Our system has detected an unusual rate of unsolicited mail');
        st.tokens -= 1;
      }
      s.benchCarried ??= new Map();
      s.benchCarried.set(domain, carried + 1);
      close(s);
      s.benchOpenDomain = domain;
      change(domain, st, 1);
      const ds = statsOf(domain);
      ds.peakOpen = Math.max(ds.peakOpen, st.open);
      return undefined;
    },
    /** how long the reply to the end of DATA waits: the longest `replyMs` of the recipients' domains */
    replyDelay(recipients: string[]): number {
      let ms = 0;
      for (const r of recipients) ms = Math.max(ms, rules.get(domainOf(r))?.replyMs ?? 0);
      return ms;
    },
    /** a message accepted (end of DATA) */
    accepted(session: object, recipients: string[], kind: string, now: number) {
      close(session as Session);
      if (rules.size === 0) return;
      for (const r of recipients) {
        const ds = statsOf(domainOf(r));
        ds.count++;
        ds.firstAt ??= now;
        ds.lastAt = now;
        ds.firstByKind[kind] ??= now;
        const sec = String(Math.floor(now / 1000));
        ds.bySecond[sec] = (ds.bySecond[sec] ?? 0) + 1;
      }
    },
  };
}
