import type { Language } from '../../publication.js';
import { ar } from './strings-ar.js';
import { type ConsoleStrings, en } from './strings-en.js';

export type { ConsoleStrings } from './strings-en.js';

const STRINGS: Record<Language, ConsoleStrings> = { ar, en };

export function consoleStrings(language: Language): ConsoleStrings {
  return STRINGS[language];
}
