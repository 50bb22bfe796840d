import type { SprocketDefinition } from '../sprocket.ts';
import announcement from './announcement.ts';
import core from './core.ts';
import moderation from './moderation.ts';

/** The sprockets that ship with the bot, by the name `sprockets:` lists them under. */
export const builtInSprockets: Readonly<Record<string, SprocketDefinition>> = { core, announcement, moderation };

/** What is on when `schedulezero:` is set and `sprockets:` is not (moderation only when listed). */
export const defaultSprockets: readonly string[] = ['core', 'announcement'];
