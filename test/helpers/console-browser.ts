import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';

/**
 * What the console's browser tests share: the system Chromium, screenshots at a phone's and a
 * desktop's width (no sideways scrolling at 375 px), and signing in in either language.
 * (console-reports, console-imports and console.test.ts still carry their own copies.)
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** `<dir>/<name>-<width>.png` (whole page) and `…-<width>-top.png` (the first screenful). */
export async function shootWidths(page: Page, dir: string, name: string): Promise<void> {
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: `${dir}/${name}-${width}.png`, fullPage: true });
    await page.screenshot({ path: `${dir}/${name}-${width}-top.png` });
    if (width === 375)
      expect(
        await page.evaluate('document.documentElement.scrollWidth'),
        `${name} at 375 px`,
      ).toBeLessThanOrEqual(375);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

const SIGN_IN = {
  ar: { email: 'البريد الإلكتروني', password: 'كلمة المرور', submit: 'دخول' },
  en: { email: 'Email address', password: 'Password', submit: 'Sign in' },
};

/** Signs in from /admin, switching the sign-in page to English first when asked. */
export async function signInConsole(
  page: Page,
  base: string,
  lang: 'ar' | 'en',
  who: { email: string; password: string },
): Promise<void> {
  const t = SIGN_IN[lang];
  await page.goto(`${base}/admin`);
  if (lang === 'en') await page.getByRole('button', { name: 'English' }).click();
  await page.waitForSelector(`html[lang="${lang}"]`);
  await page.getByLabel(t.email).fill(who.email);
  await page.getByLabel(t.password).fill(who.password);
  await page.getByRole('button', { name: t.submit, exact: true }).click();
  await page.waitForURL(`${base}/admin`);
}
