/** Embed colours, one meaning each, so a channel reads at a glance. */
export const Colors = {
  failure: 0xed4245,
  repeatedFailure: 0x992d22,
  success: 0x57f287,
  info: 0x5865f2,
  neutral: 0x95a5a6,
  warning: 0xe67e22,
  digest: 0xfee75c,
} as const;
