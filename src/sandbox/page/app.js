// @ts-check
// The sandbox page's script: renders the guild's channels and messages as the Discord client shows
// them and follows /sandbox/events live. Everything shown is built with DOM text nodes, never from
// HTML strings. Type-checked against the sandbox's own types (tsconfig.json beside it).

/** @typedef {import('../inspection.ts').MessageView} MessageView */
/** @typedef {import('../inspection.ts').SandboxState} SandboxState */
/** @typedef {import('discord-api-types/v10').APIEmbed} APIEmbed */
/** @typedef {import('discord-api-types/v10').APIApplicationCommand} APIApplicationCommand */
/** @typedef {{ components?: { style?: number; label?: string; placeholder?: string; custom_id?: string }[] }} ComponentRow */

// Message flags the page reads (Discord's MessageFlags).
const SUPPRESS_EMBEDS = 1 << 2;
const LOADING = 1 << 7;
// Send Messages (Discord's PermissionFlagsBits.SendMessages): denied to @everyone = a locked channel.
const SEND_MESSAGES = 1n << 11n;
// Activity types as the client words them (Discord's ActivityType).
const ACTIVITY_VERBS = ['Playing', 'Streaming', 'Listening to', 'Watching', '', 'Competing in'];

/** @type {SandboxState | null} */
let state = null;
/** @type {Record<string, MessageView[]>} */
const messages = {};
/** @type {Record<string, number>} */
const unread = {};
/** @type {string | undefined} */
let selected;
/** @type {{ users: Record<string, string>; roles: Record<string, string>; channels: Record<string, string> }} */
const names = { users: {}, roles: {}, channels: {} };

/**
 * An element with an optional class and text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string | null} [cls]
 * @param {unknown} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/**
 * The element with this id, which the page's HTML always has.
 * @param {string} id
 * @returns {HTMLElement}
 */
function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node;
}

/** @param {unknown} url @returns {string | null} an http(s) URL, or null for anything else */
function safeUrl(url) {
  return typeof url === 'string' && /^https?:\/\//i.test(url) ? url : null;
}

/** @param {unknown} url @returns {url is string} whether it is one of the sandbox's own attachments */
function sameOriginAttachment(url) {
  return typeof url === 'string' && url.startsWith(`${location.origin}/attachments/`);
}

/** @param {string} href @param {string} text */
function link(href, text) {
  const a = el('a', null, text);
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer nofollow';
  return a;
}

/** @param {number} n */
function pad(n) {
  return n < 10 ? `0${n}` : String(n);
}

/** A timestamp as the Discord client shows it ("Today at 14:05"). @param {string} iso */
function formatTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const now = new Date();
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (d.toDateString() === now.toDateString()) return `Today at ${hm}`;
  const yesterday = new Date(now.getTime() - 86_400_000);
  if (d.toDateString() === yesterday.toDateString()) return `Yesterday at ${hm}`;
  return `${pad(d.getDate())}/${pad(d.getMonth() + 1)}/${d.getFullYear()} ${hm}`;
}

/** A stable avatar colour for a user id. @param {string} id */
function colorOf(id) {
  const palette = ['#5865f2', '#757e8a', '#3ba55c', '#faa61a', '#ed4245', '#eb459f'];
  let sum = 0;
  for (let i = 0; i < id.length; i++) sum = (sum + id.charCodeAt(i)) % 997;
  return palette[sum % palette.length] ?? '#5865f2';
}

// ---- markdown (Discord's subset), producing DOM nodes only ----

/** @type {[string, RegExp][]} */
const inlineRules = [
  ['code', /^`([^`]+)`/],
  ['bold', /^\*\*([\s\S]+?)\*\*(?!\*)/],
  ['underline', /^__([\s\S]+?)__(?!_)/],
  ['italic', /^\*(?=\S)([\s\S]*?\S)\*(?!\*)/],
  ['italic', /^_(?=\S)([\s\S]*?\S)_(?!_)/],
  ['strike', /^~~([\s\S]+?)~~/],
  ['spoiler', /^\|\|([\s\S]+?)\|\|/],
  ['link', /^\[([^\]\n]+)\]\(<?(https?:\/\/[^\s)>]+)>?\)/],
  ['url', /^https?:\/\/[^\s<]+[^<.,:;"')\]\s]/],
  ['user', /^<@!?(\d+)>/],
  ['role', /^<@&(\d+)>/],
  ['channel', /^<#(\d+)>/],
  ['time', /^<t:(-?\d+)(?::([tTdDfFR]))?>/],
  ['everyone', /^@(everyone|here)/],
];
const starters = '`*_~|[h<@';

/**
 * One inline markdown match as a node.
 * @param {string} kind
 * @param {RegExpExecArray} m
 * @param {boolean} allowLinks
 * @returns {Node}
 */
function inlineNode(kind, m, allowLinks) {
  const inner = m[1] ?? '';
  switch (kind) {
    case 'code':
      return el('code', 'inline', inner);
    case 'bold':
    case 'underline':
    case 'italic':
    case 'strike': {
      const node = el(kind === 'bold' ? 'strong' : kind === 'underline' ? 'u' : kind === 'italic' ? 'em' : 's');
      renderInline(inner, node, allowLinks);
      return node;
    }
    case 'spoiler': {
      const node = el('span', 'spoiler');
      node.addEventListener('click', () => node.classList.add('shown'));
      renderInline(inner, node, allowLinks);
      return node;
    }
    case 'link': {
      if (!allowLinks) return document.createTextNode(m[0]);
      const node = link(m[2] ?? '', '');
      renderInline(inner, node, false);
      return node;
    }
    case 'url':
      return link(m[0], m[0]);
    case 'user':
      return el('span', 'mention', `@${names.users[inner] || 'unknown-user'}`);
    case 'role':
      return el('span', 'mention', `@${names.roles[inner] || 'deleted-role'}`);
    case 'channel':
      return el('span', 'mention', `#${names.channels[inner] || 'unknown'}`);
    case 'time': {
      const d = new Date(Number(inner) * 1000);
      return el('code', 'inline', Number.isNaN(d.getTime()) ? m[0] : d.toLocaleString());
    }
    default:
      return el('span', 'mention', m[0]);
  }
}

/**
 * Inline markdown: code, emphasis, spoilers, links, mentions and timestamps.
 * @param {string} text
 * @param {Node} parent
 * @param {boolean} allowLinks masked links are shown only where Discord allows them
 */
function renderInline(text, parent, allowLinks) {
  let buffer = '';
  const flush = () => {
    if (buffer) {
      parent.appendChild(document.createTextNode(buffer));
      buffer = '';
    }
  };
  let i = 0;
  while (i < text.length) {
    const char = text[i] ?? '';
    /** @type {[string, RegExpExecArray] | null} */
    let matched = null;
    if (starters.includes(char)) {
      const rest = text.slice(i);
      for (const [kind, rule] of inlineRules) {
        const m = rule.exec(rest);
        if (m) {
          matched = [kind, m];
          break;
        }
      }
    }
    if (!matched) {
      buffer += char;
      i++;
      continue;
    }
    flush();
    parent.appendChild(inlineNode(matched[0], matched[1], allowLinks));
    i += matched[1][0].length;
  }
  flush();
}

/**
 * Block markdown (headings, subtext, quotes, lists, code fences) around inline markdown.
 * @param {string} text
 * @param {Node} parent
 * @param {boolean} allowLinks
 */
function renderMarkdown(text, parent, allowLinks) {
  const fence = /```(?:([a-zA-Z0-9_+-]*)\n)?([\s\S]*?)```/g;
  let last = 0;
  /** @param {string} chunk */
  const renderLines = (chunk) => {
    const lines = chunk.split('\n');
    lines.forEach((line, i) => {
      const h = /^(#{1,3}) (.+)$/.exec(line);
      const sub = /^-# (.+)$/.exec(line);
      const q = /^> ?(.*)$/.exec(line);
      const li = /^\s*[-*] (.+)$/.exec(line);
      /** @type {HTMLElement | null} */
      let block = null;
      if (h) {
        block = el('div', `md-h${(h[1] ?? '#').length}`);
        renderInline(h[2] ?? '', block, allowLinks);
      } else if (sub) {
        block = el('div', 'md-sub');
        renderInline(sub[1] ?? '', block, allowLinks);
      } else if (q) {
        block = el('blockquote');
        renderInline(q[1] ?? '', block, allowLinks);
      } else if (li) {
        block = el('div', 'md-li');
        renderInline(li[1] ?? '', block, allowLinks);
      }
      if (block) {
        parent.appendChild(block);
        return;
      }
      renderInline(line, parent, allowLinks);
      if (i < lines.length - 1) parent.appendChild(document.createTextNode('\n'));
    });
  };
  for (let m = fence.exec(text); m !== null; m = fence.exec(text)) {
    if (m.index > last) renderLines(text.slice(last, m.index));
    parent.appendChild(el('pre', 'block', (m[2] ?? '').replace(/\n$/, '')));
    last = fence.lastIndex;
  }
  if (last < text.length) renderLines(text.slice(last));
}

// ---- embeds, attachments, components ----

/**
 * An embed image: the sandbox's own attachments are shown, anything external is a placeholder.
 * @param {string} label
 * @param {string} url
 * @param {string} cls
 */
function mediaBox(label, url, cls) {
  const box = el('div', cls);
  if (sameOriginAttachment(url)) {
    const img = el('img', 'attachment-image');
    img.src = url;
    img.alt = label;
    box.appendChild(img);
    return box;
  }
  const href = safeUrl(url);
  const placeholder = href ? link(href, '') : el('div');
  placeholder.className = 'media-placeholder';
  placeholder.title = `${href || ''} (external images are not loaded)`;
  placeholder.appendChild(el('span', null, label));
  box.appendChild(placeholder);
  return box;
}

/** @param {APIEmbed} e */
function renderEmbed(e) {
  const box = el('div', 'embed');
  if (typeof e.color === 'number') box.style.borderLeftColor = `#${`000000${e.color.toString(16)}`.slice(-6)}`;
  if (e.author && e.author.name) {
    const author = el('div', 'embed-author');
    const url = safeUrl(e.author.url);
    author.appendChild(url ? link(url, e.author.name) : el('span', null, e.author.name));
    box.appendChild(author);
  }
  if (e.title) {
    const title = el('div', 'embed-title');
    const url = safeUrl(e.url);
    if (url) {
      const a = link(url, '');
      renderInline(e.title, a, false);
      title.appendChild(a);
    } else renderInline(e.title, title, false);
    box.appendChild(title);
  }
  if (e.description) {
    const description = el('div', 'embed-description');
    renderMarkdown(e.description, description, true);
    box.appendChild(description);
  }
  if (e.fields && e.fields.length) box.appendChild(renderFields(e.fields));
  if (e.image && e.image.url) box.appendChild(mediaBox('image (not loaded offline)', e.image.url, 'embed-media'));
  if (e.thumbnail && e.thumbnail.url) box.appendChild(mediaBox('thumbnail', e.thumbnail.url, 'embed-thumb'));
  if ((e.footer && e.footer.text) || e.timestamp) {
    const footer = el('div', 'embed-footer');
    if (e.footer && e.footer.text) footer.appendChild(el('span', null, e.footer.text));
    if (e.footer && e.footer.text && e.timestamp) footer.appendChild(el('span', null, '\u2022'));
    if (e.timestamp) footer.appendChild(el('span', null, formatTime(e.timestamp)));
    box.appendChild(footer);
  }
  return box;
}

/**
 * Embed fields on Discord's 12-column grid: up to three inline fields share a row.
 * @param {NonNullable<APIEmbed['fields']>} list
 */
function renderFields(list) {
  const fields = el('div', 'embed-fields');
  /** @type {HTMLElement[]} */
  let run = [];
  const place = () => {
    const span = run.length === 1 ? 12 : run.length === 2 ? 6 : 4;
    run.forEach((field, k) => {
      const start = 1 + k * span;
      field.style.gridColumn = `${start} / ${start + span}`;
    });
    run = [];
  };
  for (const f of list) {
    const field = el('div', 'embed-field');
    const name = el('div', 'embed-field-name');
    renderInline(f.name || '', name, false);
    const value = el('div', 'embed-field-value');
    renderMarkdown(f.value || '', value, true);
    field.appendChild(name);
    field.appendChild(value);
    fields.appendChild(field);
    if (f.inline) {
      run.push(field);
      if (run.length === 3) place();
    } else place();
  }
  place();
  return fields;
}

/** @param {unknown[]} rows @param {HTMLElement} parent */
function renderComponents(rows, parent) {
  /** @type {Record<number, string>} */
  const styles = { 1: 'primary', 2: 'secondary', 3: 'success', 4: 'danger', 5: 'secondary' };
  for (const raw of rows) {
    const row = /** @type {ComponentRow | null} */ (raw);
    if (!row || !row.components) continue;
    const line = el('div', 'components');
    for (const comp of row.components) {
      line.appendChild(el('span', `button ${styles[comp.style ?? 2] || 'secondary'}`, comp.label || comp.placeholder || comp.custom_id || 'component'));
    }
    parent.appendChild(line);
  }
}

/** @param {number} n bytes */
function humanSize(n) {
  return n < 1024 ? `${n} bytes` : n < 1048576 ? `${(n / 1024).toFixed(2)} KB` : `${(n / 1048576).toFixed(2)} MB`;
}

// ---- messages ----

/** @param {MessageView} m @param {HTMLElement} row */
function renderAttachments(m, row) {
  for (const att of m.attachments || []) {
    if (/^image\//.test(att.content_type || '') && sameOriginAttachment(att.url)) {
      const img = el('img', 'attachment-image');
      img.src = att.url;
      img.alt = att.filename;
      row.appendChild(img);
      continue;
    }
    const file = el('div', 'attachment');
    file.appendChild(el('span', 'file-icon'));
    const meta = el('div');
    meta.appendChild(sameOriginAttachment(att.url) ? link(att.url, att.filename) : el('span', null, att.filename));
    meta.appendChild(el('span', 'size', humanSize(att.size)));
    file.appendChild(meta);
    row.appendChild(file);
  }
}

/** @param {MessageView} m */
function renderMessage(m) {
  const row = el('div', `msg${m.ephemeral ? ' ephemeral' : ''}`);
  row.id = `msg-${m.id}`;
  if (m.interaction) {
    const replyLine = el('div', 'reply-line');
    replyLine.appendChild(el('span', null, `\u21B1 ${m.interaction.user.username} used`));
    replyLine.appendChild(el('span', 'cmd', `/${m.interaction.command}`));
    row.appendChild(replyLine);
  }
  const avatar = el('div', 'avatar', (m.author.username || '?').charAt(0).toUpperCase());
  avatar.style.background = colorOf(m.author.id);
  if (m.interaction) avatar.style.top = '26px';
  row.appendChild(avatar);
  const head = el('div', 'msg-head');
  head.appendChild(el('span', 'author', m.author.username));
  if (m.author.bot) head.appendChild(el('span', 'app-tag', 'App'));
  const time = el('span', 'time', formatTime(m.timestamp));
  time.title = new Date(m.timestamp).toString();
  head.appendChild(time);
  row.appendChild(head);
  if (m.flags & LOADING) {
    row.appendChild(el('div', 'thinking', `${m.author.username} is thinking...`));
  } else if (m.content) {
    const content = el('div', 'content');
    renderMarkdown(m.content, content, true);
    if (m.edited_timestamp) content.appendChild(el('span', 'edited', '(edited)'));
    row.appendChild(content);
  }
  if (m.embeds && m.embeds.length && !(m.flags & SUPPRESS_EMBEDS)) {
    const embeds = el('div', 'embeds');
    for (const embed of m.embeds) embeds.appendChild(renderEmbed(embed));
    row.appendChild(embeds);
  }
  renderAttachments(m, row);
  if (m.components && m.components.length) renderComponents(m.components, row);
  const p = m.mentions;
  /** @type {string[]} */
  const pinged = [];
  if (p.everyone) pinged.push('@everyone');
  if (p.here) pinged.push('@here');
  for (const id of p.users || []) pinged.push(`@${names.users[id] || id}`);
  for (const id of p.roles || []) pinged.push(`@${names.roles[id] || id}`);
  if (pinged.length) row.appendChild(el('div', 'pings', `pinged ${pinged.join(', ')}`));
  if (m.ephemeral) {
    const note = el('div', 'ephemeral-note', 'Only you can see this \u2022 ');
    const dismiss = el('a', null, 'Dismiss message');
    dismiss.href = '#';
    dismiss.addEventListener('click', (ev) => {
      ev.preventDefault();
      row.remove();
    });
    note.appendChild(dismiss);
    row.appendChild(note);
  }
  return row;
}

const list = byId('messages');

/** A guild channel or a DM by ID, with the name the page shows. @param {string | undefined} id */
function findChannel(id) {
  const guild = state?.channels.find((c) => c.id === id);
  if (guild) return { id: guild.id, label: `#${guild.name}`, name: guild.name, dm: false };
  const dm = state?.dm_channels.find((c) => c.id === id);
  if (dm) {
    const name = names.users[dm.recipient_id] || dm.recipient_id;
    return { id: dm.id, label: `@${name}`, name, dm: true };
  }
  return undefined;
}

/** Whether @everyone may not send in a channel (a lockdown overwrite). @param {SandboxState['channels'][number]} c */
function locked(c) {
  const everyone = c.permission_overwrites.find((o) => o.id === state?.guild.id);
  return everyone !== undefined && (BigInt(everyone.deny) & SEND_MESSAGES) !== 0n;
}

function renderChannel() {
  list.textContent = '';
  const channel = findChannel(selected);
  byId('channel-title').textContent = channel ? channel.name : '';
  byId('composer').textContent = channel ? `Message ${channel.label} (read-only preview: the bot posts here through the sandbox API)` : '';
  if (!channel) return;
  const welcome = el('div', 'welcome');
  welcome.appendChild(el('div', 'big-hash', channel.dm ? '@' : '#'));
  welcome.appendChild(el('h1', null, channel.dm ? `Your direct messages with ${channel.name}` : `Welcome to #${channel.name}!`));
  const guild = state?.channels.find((c) => c.id === channel.id);
  const overwrites = guild ? guild.permission_overwrites.map((o) => `${o.type === 0 ? names.roles[o.id] || o.id : `@${names.users[o.id] || o.id}`}: allow ${o.allow}, deny ${o.deny}`) : [];
  welcome.appendChild(el('p', null, `This is the start of ${channel.label}. Channel ID ${channel.id}.${guild && locked(guild) ? ' Locked: @everyone may not send messages.' : ''}`));
  if (overwrites.length) welcome.appendChild(el('p', 'overwrites', `Permission overwrites: ${overwrites.join('; ')}`));
  list.appendChild(welcome);
  for (const m of messages[channel.id] || []) list.appendChild(renderMessage(m));
  list.scrollTop = list.scrollHeight;
}

/** A sidebar entry that selects a channel. @param {string} id @param {string} mark @param {string} name @param {string} [extra] */
function channelItem(id, mark, name, extra) {
  const item = el('div', `channel${id === selected ? ' active' : ''}${unread[id] ? ' unread' : ''}`);
  item.setAttribute('data-channel', id);
  item.appendChild(el('span', 'hash', mark));
  item.appendChild(el('span', 'name', name));
  if (extra) item.appendChild(el('span', 'lock', extra));
  if (unread[id]) item.appendChild(el('span', 'badge', unread[id]));
  item.addEventListener('click', () => {
    location.hash = id;
  });
  return item;
}

/** The members with their roles and, for whoever set one (the bot), their presence. */
function renderMembers() {
  if (!state) return;
  const box = byId('members');
  box.textContent = '';
  for (const m of state.members) {
    const item = el('div', 'member');
    item.setAttribute('data-member', m.id);
    item.appendChild(el('b', null, m.username + (m.bot ? ' (bot)' : '')));
    const roles = m.roles.map((r) => names.roles[r] || r);
    item.appendChild(el('span', 'desc', roles.length ? roles.join(', ') : 'no roles'));
    const presence = state.presences.find((p) => p.user_id === m.id);
    if (presence) {
      const activity = presence.activities[0];
      const doing = activity ? `${ACTIVITY_VERBS[activity.type] ?? ''} ${activity.type === 4 ? activity.state || activity.name : activity.name}`.trim() : '';
      item.appendChild(el('span', 'presence', `${presence.status}${doing ? ` \u2022 ${doing}` : ''}`));
    }
    box.appendChild(item);
  }
}

function renderSidebar() {
  if (!state) return;
  byId('guild-name').textContent = state.guild.name;
  byId('guild-icon').textContent = state.guild.name.charAt(0).toUpperCase();
  document.title = `${state.guild.name} \u2014 zmq-notify sandbox`;
  const box = byId('channels');
  box.textContent = '';
  for (const c of state.channels) box.appendChild(channelItem(c.id, '#', c.name, locked(c) ? '\u{1F512}' : undefined));
  const dms = byId('dms');
  dms.textContent = '';
  if (!state.dm_channels.length) dms.appendChild(el('div', 'empty-note', 'none yet'));
  for (const c of state.dm_channels) dms.appendChild(channelItem(c.id, '@', names.users[c.recipient_id] || c.recipient_id));
  renderMembers();
  const commands = byId('commands');
  commands.textContent = '';
  /** @type {APIApplicationCommand[]} */
  const all = [...state.commands.guild, ...state.commands.global];
  if (!all.length) commands.appendChild(el('div', 'empty-note', 'none registered yet'));
  for (const c of all) {
    const item = el('div', 'command');
    item.appendChild(el('b', null, `/${c.name}`));
    item.appendChild(el('span', 'desc', (c.description || '') + (c.guild_id ? '' : ' (global)')));
    commands.appendChild(item);
  }
}

/** Shows a channel: the one asked for, else the first with messages, #general or the first. @param {string} id */
function select(id) {
  if (!state) return;
  let chosen = findChannel(id) ? id : undefined;
  if (chosen === undefined) {
    const withMessages = state.channels.find((c) => (messages[c.id] || []).length);
    const general = state.channels.find((c) => c.name === 'general');
    chosen = (withMessages || general || state.channels[0])?.id;
  }
  selected = chosen;
  if (chosen !== undefined) delete unread[chosen];
  renderSidebar();
  renderChannel();
}

/** @returns {Promise<void>} */
async function loadState() {
  /** @type {SandboxState} */
  const s = await (await fetch('/sandbox/state')).json();
  state = s;
  names.users = {};
  names.roles = {};
  names.channels = {};
  for (const m of s.members) names.users[m.id] = m.username;
  for (const r of s.roles) names.roles[r.id] = r.name;
  for (const c of s.channels) names.channels[c.id] = c.name;
}

/** Adds or replaces a message; at most 1,000 are kept per channel. @param {MessageView} m */
function upsert(m) {
  const kept = messages[m.channel_id] || (messages[m.channel_id] = []);
  const at = kept.findIndex((k) => k.id === m.id);
  if (at >= 0) {
    kept[at] = m;
    return;
  }
  kept.push(m);
  if (kept.length > 1000) kept.shift();
}

function connect() {
  const status = byId('status');
  const label = /** @type {HTMLElement} */ (status.lastChild);
  const source = new EventSource('/sandbox/events');
  source.onopen = () => {
    status.className = 'live';
    label.textContent = 'live';
  };
  source.onerror = () => {
    status.className = '';
    label.textContent = 'reconnecting...';
  };
  source.addEventListener('message', (ev) => {
    /** @type {MessageView} */
    const m = JSON.parse(ev.data);
    upsert(m);
    if (m.channel_id === selected) {
      const near = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
      list.appendChild(renderMessage(m));
      if (near) list.scrollTop = list.scrollHeight;
    } else {
      unread[m.channel_id] = (unread[m.channel_id] || 0) + 1;
      // The first message of a new DM channel: the sidebar learns of the channel from the state.
      if (findChannel(m.channel_id)) renderSidebar();
      else void loadState().then(renderSidebar);
    }
  });
  source.addEventListener('message_update', (ev) => {
    /** @type {MessageView} */
    const m = JSON.parse(ev.data);
    upsert(m);
    const existing = document.getElementById(`msg-${m.id}`);
    if (existing) existing.replaceWith(renderMessage(m));
    else if (m.channel_id === selected) list.appendChild(renderMessage(m));
  });
  source.addEventListener('message_delete', (ev) => {
    /** @type {{ channel_id: string; ids: string[] }} */
    const d = JSON.parse(ev.data);
    messages[d.channel_id] = (messages[d.channel_id] || []).filter((m) => !d.ids.includes(m.id));
    for (const id of d.ids) document.getElementById(`msg-${id}`)?.remove();
  });
  const refresh = () => void loadState().then(renderSidebar);
  source.addEventListener('commands', refresh);
  source.addEventListener('member', refresh);
  // An overwrite (lockdown) or a DM channel shows in the sidebar and the channel header.
  source.addEventListener('channel', () => void loadState().then(() => select(selected ?? '')));
  source.addEventListener('presence', refresh);
}

window.addEventListener('hashchange', () => select(location.hash.slice(1)));

await loadState();
/** @type {MessageView[]} */
const all = await (await fetch('/sandbox/messages')).json();
for (const m of all) upsert(m);
select(location.hash.slice(1));
connect();

// A module (it awaits at the top level): nothing is exported.
export {};
