import { Colors as DiscordColors } from 'discord.js';

/** Embed colours, one meaning each, so a channel reads at a glance (discord.js's palette). */
export const Colors = {
  failure: DiscordColors.Red,
  repeatedFailure: DiscordColors.DarkRed,
  success: DiscordColors.Green,
  info: DiscordColors.Blurple,
  neutral: DiscordColors.Grey,
  warning: DiscordColors.Orange,
  digest: DiscordColors.Yellow,
} as const;
