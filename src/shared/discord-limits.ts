/** Discord's limits for embeds and messages (https://discord.com/developers/docs/resources/message#embed-object-embed-limits), in characters. */
export const EmbedLimits = {
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footerText: 2048,
  authorName: 256,
  /** Sum of title, description, field names and values, footer text and author name. */
  total: 6000,
  /** Embeds in one message. */
  embedsPerMessage: 10,
  /** Message `content`. */
  content: 2000,
} as const;
