/**
 * Link scanners: security gateways (Microsoft Defender Safe Links, Proofpoint, Mimecast, Barracuda,
 * ...) and previewers follow every link of a message, often within seconds of delivery. Their
 * clicks are recorded apart (with the reason) and left out of every statistic.
 *
 * Three signs, each enough: a HEAD request (browsers follow links with GET), a user agent of a
 * known scanner or of a script, and a burst: several different links of one message clicked within
 * seconds of its delivery (decided in the store, where the delivery time is known).
 */
export type ScannerReason = 'head' | 'user-agent' | 'burst';

// Lower-case fragments of user agents that are never a reader's browser.
const SCANNER_AGENTS = [
  'bot',
  'crawler',
  'spider',
  'scanner',
  'preview',
  'safelinks',
  'proofpoint',
  'mimecast',
  'barracuda',
  'forcepoint',
  'symantec',
  'trendmicro',
  'sophos',
  'fireeye',
  'cisco',
  'ironport',
  'zscaler',
  'python-requests',
  'python-urllib',
  'go-http-client',
  'curl/',
  'wget/',
  'okhttp',
  'java/',
  'libwww',
  'httpclient',
  'headlesschrome',
  'phantomjs',
] as const;

export function scannerAgent(userAgent: string | undefined): boolean {
  // a click with no user agent at all is a script, not a mail client's browser
  const ua = userAgent?.trim().toLowerCase();
  if (!ua) return true;
  return SCANNER_AGENTS.some((fragment) => ua.includes(fragment));
}

/** The reason known from the request alone (the burst is decided when clicks are stored). */
export function requestScanner(method: string, userAgent: string | undefined): ScannerReason | null {
  if (method === 'HEAD') return 'head';
  if (scannerAgent(userAgent)) return 'user-agent';
  return null;
}
