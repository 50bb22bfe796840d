/**
 * The sandbox's preview page: the guild's channels and their messages rendered the way the
 * Discord client shows them (dark theme, embeds with their colour bar, fields, footer and
 * timestamp), updated live from /sandbox/events. Self-contained: inline CSS and script only,
 * no fonts or CDNs, so it works offline. Everything shown is built with DOM text nodes (never
 * HTML strings), and a nonce-based Content-Security-Policy forbids any other script.
 */

const style = `
:root { color-scheme: dark; }
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body { background: #313338; color: #dbdee1; font: 16px/1.375 "gg sans", "Noto Sans", "Helvetica Neue", Helvetica, Arial, sans-serif; display: grid; grid-template-columns: 72px 240px 1fr; overflow: hidden; }
a { color: #00a8fc; text-decoration: none; }
a:hover { text-decoration: underline; }
#rail { background: #1e1f22; padding: 12px 0; display: flex; flex-direction: column; align-items: center; gap: 8px; }
.guild-icon { width: 48px; height: 48px; border-radius: 16px; background: #5865f2; color: #fff; display: flex; align-items: center; justify-content: center; font-weight: 600; font-size: 18px; }
#sidebar { background: #2b2d31; display: flex; flex-direction: column; min-height: 0; }
#guild-name { height: 48px; padding: 0 16px; display: flex; align-items: center; font-weight: 600; color: #f2f3f5; box-shadow: 0 1px 0 rgba(4,4,5,.2), 0 1.5px 0 rgba(6,6,7,.05), 0 2px 0 rgba(4,4,5,.05); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
#sidebar-scroll { overflow-y: auto; padding: 8px 8px 16px; flex: 1; }
.section { margin: 16px 8px 4px; font-size: 12px; font-weight: 600; letter-spacing: .02em; text-transform: uppercase; color: #949ba4; }
.channel { display: flex; align-items: center; gap: 6px; padding: 6px 8px; margin: 1px 0; border-radius: 4px; color: #949ba4; cursor: pointer; user-select: none; }
.channel:hover { background: #35373c; color: #dbdee1; }
.channel.active { background: #404249; color: #f2f3f5; }
.channel.unread { color: #f2f3f5; font-weight: 600; }
.hash { font-size: 20px; line-height: 20px; width: 20px; text-align: center; color: #80848e; }
.channel .name { flex: 1; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.badge { background: #f23f42; color: #fff; border-radius: 8px; font-size: 12px; font-weight: 700; padding: 0 5px; min-width: 16px; text-align: center; }
.command { padding: 4px 8px; font-size: 13px; color: #b5bac1; }
.command b { color: #f2f3f5; font-weight: 600; }
.command .desc { display: block; color: #949ba4; font-size: 12px; }
.empty-note { padding: 4px 8px; font-size: 13px; color: #80848e; }
#links { padding: 8px 16px 12px; font-size: 12px; color: #949ba4; background: #232428; }
#links a { margin-right: 10px; }
#main { display: flex; flex-direction: column; min-width: 0; min-height: 0; }
#header { height: 48px; flex: none; padding: 0 16px; display: flex; align-items: center; gap: 8px; color: #f2f3f5; font-weight: 600; box-shadow: 0 1px 0 rgba(4,4,5,.2), 0 1.5px 0 rgba(6,6,7,.05), 0 2px 0 rgba(4,4,5,.05); }
#status { margin-left: auto; font-size: 12px; font-weight: 500; color: #949ba4; display: flex; align-items: center; gap: 6px; }
#status .dot { width: 8px; height: 8px; border-radius: 50%; background: #80848e; }
#status.live .dot { background: #23a55a; }
#messages { flex: 1; overflow-y: auto; padding: 16px 0 24px; }
.welcome { padding: 16px; margin-bottom: 8px; }
.welcome h1 { color: #f2f3f5; font-size: 32px; margin: 8px 0; }
.welcome p { color: #b5bac1; margin: 0; }
.welcome .big-hash { width: 68px; height: 68px; border-radius: 50%; background: #41434a; display: flex; align-items: center; justify-content: center; font-size: 42px; color: #f2f3f5; }
.msg { position: relative; padding: 2px 48px 2px 72px; margin-top: 17px; min-height: 44px; }
.msg:hover { background: #2e3035; }
.msg.ephemeral { background: rgba(88,101,242,.05); }
.avatar { position: absolute; left: 16px; top: 4px; width: 40px; height: 40px; border-radius: 50%; color: #fff; display: flex; align-items: center; justify-content: center; font-weight: 600; }
.reply-line { font-size: 14px; color: #b5bac1; margin-bottom: 2px; display: flex; gap: 4px; align-items: center; }
.reply-line .cmd { color: #00a8fc; }
.msg-head { display: flex; align-items: baseline; gap: 6px; }
.author { color: #f2f3f5; font-weight: 500; }
.app-tag { background: #5865f2; color: #fff; font-size: 10px; font-weight: 600; padding: 0 4px; border-radius: 3px; line-height: 15px; text-transform: uppercase; align-self: center; }
.time { color: #949ba4; font-size: 12px; }
.edited { color: #949ba4; font-size: 10px; margin-left: 4px; }
.content { white-space: pre-wrap; overflow-wrap: anywhere; }
.thinking { color: #949ba4; font-style: italic; }
.ephemeral-note { font-size: 12px; color: #949ba4; margin-top: 4px; }
.ephemeral-note::before { content: ""; display: inline-block; width: 10px; height: 6px; border: 2px solid #949ba4; border-radius: 50%; margin-right: 6px; vertical-align: middle; }
.ephemeral-note a { color: #00a8fc; }
.pings { font-size: 12px; color: #f0b232; margin-top: 2px; }
.pings::before { content: ""; display: inline-block; width: 6px; height: 6px; border-radius: 50%; background: #f0b232; margin-right: 6px; vertical-align: middle; }
.mention { background: rgba(88,101,242,.3); color: #c9cdfb; border-radius: 3px; padding: 0 2px; font-weight: 500; }
code.inline { background: #2b2d31; border: 1px solid #1e1f22; border-radius: 4px; padding: 0 .2em; font: .85em/1.125 Consolas, "Andale Mono WT", "Andale Mono", "Lucida Console", Monaco, "Courier New", monospace; }
pre.block { background: #2b2d31; border: 1px solid #1e1f22; border-radius: 4px; padding: .5em; margin: 6px 0 0; white-space: pre-wrap; overflow-wrap: anywhere; font: .875em/1.125 Consolas, "Andale Mono WT", "Andale Mono", "Lucida Console", Monaco, "Courier New", monospace; color: #dbdee1; max-width: 90%; }
.embed pre.block { background: #1e1f22; max-width: 100%; }
.spoiler { background: #1e1f22; color: transparent; border-radius: 3px; cursor: pointer; }
.spoiler.shown { background: rgba(255,255,255,.1); color: inherit; }
blockquote { margin: 0; padding: 0 0 0 12px; border-left: 4px solid #4e5058; }
.md-h1 { font-size: 1.5em; font-weight: 700; color: #f2f3f5; margin: 8px 0 0; }
.md-h2 { font-size: 1.25em; font-weight: 700; color: #f2f3f5; margin: 8px 0 0; }
.md-h3 { font-size: 1em; font-weight: 700; color: #f2f3f5; margin: 8px 0 0; }
.md-sub { font-size: .8125em; color: #949ba4; }
.md-li::before { content: "\\2022"; margin: 0 8px 0 4px; }
.embeds { display: grid; gap: 4px; margin-top: 4px; justify-items: start; }
.embed { display: grid; max-width: 520px; background: #2b2d31; border: 1px solid rgba(78,80,88,.3); border-left: 4px solid #1e1f22; border-radius: 4px; padding: 8px 16px 16px 12px; grid-template-columns: auto min-content; column-gap: 16px; }
.embed > * { grid-column: 1; min-width: 0; }
.embed-author { margin-top: 8px; font-size: 14px; font-weight: 600; color: #f2f3f5; display: flex; align-items: center; gap: 8px; }
.embed-title { margin-top: 8px; font-size: 16px; font-weight: 600; color: #f2f3f5; overflow-wrap: anywhere; }
.embed-title a { color: #00a8fc; }
.embed-description { margin-top: 8px; font-size: 14px; line-height: 18px; white-space: pre-wrap; overflow-wrap: anywhere; color: #dbdee1; }
.embed-fields { margin-top: 8px; display: grid; grid-template-columns: repeat(12, 1fr); gap: 8px; }
.embed-field { font-size: 14px; line-height: 18px; min-width: 0; grid-column: 1 / 13; }
.embed-field-name { font-weight: 600; color: #f2f3f5; margin-bottom: 2px; overflow-wrap: anywhere; }
.embed-field-value { white-space: pre-wrap; overflow-wrap: anywhere; color: #dbdee1; }
.embed-thumb { grid-column: 2; grid-row: 1 / 8; margin: 8px 0 0; width: 80px; height: 80px; }
.embed-media { margin-top: 16px; width: 400px; max-width: 100%; height: 120px; }
.media-placeholder { display: flex; align-items: center; justify-content: center; background: #1e1f22; border: 1px dashed #4e5058; border-radius: 4px; color: #949ba4; font-size: 12px; padding: 8px; height: 100%; min-height: 80px; text-align: center; }
a.media-placeholder:hover { text-decoration: none; color: #dbdee1; }
.embed-footer { margin-top: 8px; font-size: 12px; line-height: 16px; color: #949ba4; display: flex; align-items: center; gap: 4px; flex-wrap: wrap; }
.attachment { margin-top: 4px; display: flex; align-items: center; gap: 10px; background: #2b2d31; border: 1px solid #1e1f22; border-radius: 8px; padding: 10px; max-width: 432px; }
.file-icon { flex: none; width: 24px; height: 30px; border: 2px solid #b5bac1; border-radius: 2px 9px 2px 2px; }
.attachment .size { display: block; font-size: 12px; color: #949ba4; }
.attachment-image { margin-top: 4px; max-width: 400px; max-height: 300px; border-radius: 8px; display: block; }
.components { margin-top: 4px; display: flex; flex-wrap: wrap; gap: 8px; }
.button { background: #4e5058; color: #fff; border-radius: 3px; font-size: 14px; padding: 2px 16px; min-height: 32px; display: inline-flex; align-items: center; }
.button.primary { background: #5865f2; } .button.success { background: #248046; } .button.danger { background: #da373c; }
#composer { flex: none; margin: 0 16px 24px; background: #383a40; border-radius: 8px; padding: 11px 16px; color: #6d6f78; font-size: 15px; }
`;

const script = `
'use strict';
(function () {
  var state = null;
  var messages = {};
  var unread = {};
  var selected = null;
  var names = { users: {}, roles: {}, channels: {} };
  var el = function (tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };
  var safeUrl = function (url) {
    return typeof url === 'string' && /^https?:\\/\\//i.test(url) ? url : null;
  };
  var sameOriginAttachment = function (url) {
    return typeof url === 'string' && url.indexOf(location.origin + '/attachments/') === 0;
  };
  var link = function (href, text) {
    var a = el('a', null, text);
    a.href = href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
    return a;
  };
  var pad = function (n) { return n < 10 ? '0' + n : String(n); };
  var formatTime = function (iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return '';
    var now = new Date();
    var hm = pad(d.getHours()) + ':' + pad(d.getMinutes());
    if (d.toDateString() === now.toDateString()) return 'Today at ' + hm;
    var y = new Date(now.getTime() - 86400000);
    if (d.toDateString() === y.toDateString()) return 'Yesterday at ' + hm;
    return pad(d.getDate()) + '/' + pad(d.getMonth() + 1) + '/' + d.getFullYear() + ' ' + hm;
  };
  var colorOf = function (id) {
    var palette = ['#5865f2', '#757e8a', '#3ba55c', '#faa61a', '#ed4245', '#eb459f'];
    var sum = 0;
    for (var i = 0; i < id.length; i++) sum = (sum + id.charCodeAt(i)) % 997;
    return palette[sum % palette.length];
  };

  // ---- markdown (Discord's subset), producing DOM nodes only ----
  var TICK = String.fromCharCode(96);
  var inlineRules = [
    ['code', new RegExp('^' + TICK + '([^' + TICK + ']+)' + TICK)],
    ['bold', /^\\*\\*([\\s\\S]+?)\\*\\*(?!\\*)/],
    ['underline', /^__([\\s\\S]+?)__(?!_)/],
    ['italic', /^\\*(?=\\S)([\\s\\S]*?\\S)\\*(?!\\*)/],
    ['italic', /^_(?=\\S)([\\s\\S]*?\\S)_(?!_)/],
    ['strike', /^~~([\\s\\S]+?)~~/],
    ['spoiler', /^\\|\\|([\\s\\S]+?)\\|\\|/],
    ['link', /^\\[([^\\]\\n]+)\\]\\(<?(https?:\\/\\/[^\\s)>]+)>?\\)/],
    ['url', /^https?:\\/\\/[^\\s<]+[^<.,:;"')\\]\\s]/],
    ['user', /^<@!?(\\d+)>/],
    ['role', /^<@&(\\d+)>/],
    ['channel', /^<#(\\d+)>/],
    ['time', /^<t:(-?\\d+)(?::([tTdDfFR]))?>/],
    ['everyone', /^@(everyone|here)/]
  ];
  var starters = TICK + '*_~|[h<@';
  var renderInline = function (text, parent, allowLinks) {
    var buf = '';
    var flush = function () { if (buf) { parent.appendChild(document.createTextNode(buf)); buf = ''; } };
    var i = 0;
    while (i < text.length) {
      var matched = null;
      if (starters.indexOf(text[i]) !== -1) {
        var rest = text.slice(i);
        for (var r = 0; r < inlineRules.length; r++) {
          var m = inlineRules[r][1].exec(rest);
          if (m) { matched = [inlineRules[r][0], m]; break; }
        }
      }
      if (!matched) { buf += text[i]; i++; continue; }
      flush();
      var kind = matched[0], mm = matched[1], node;
      if (kind === 'code') node = el('code', 'inline', mm[1]);
      else if (kind === 'bold' || kind === 'underline' || kind === 'italic' || kind === 'strike') {
        node = el(kind === 'bold' ? 'strong' : kind === 'underline' ? 'u' : kind === 'italic' ? 'em' : 's');
        renderInline(mm[1], node, allowLinks);
      } else if (kind === 'spoiler') {
        node = el('span', 'spoiler');
        node.addEventListener('click', function (ev) { ev.currentTarget.classList.add('shown'); });
        renderInline(mm[1], node, allowLinks);
      } else if (kind === 'link') {
        if (allowLinks) { node = link(mm[2], ''); renderInline(mm[1], node, false); }
        else node = document.createTextNode(mm[0]);
      } else if (kind === 'url') node = link(mm[0], mm[0]);
      else if (kind === 'user') node = el('span', 'mention', '@' + (names.users[mm[1]] || 'unknown-user'));
      else if (kind === 'role') node = el('span', 'mention', '@' + (names.roles[mm[1]] || 'deleted-role'));
      else if (kind === 'channel') node = el('span', 'mention', '#' + (names.channels[mm[1]] || 'unknown'));
      else if (kind === 'everyone') node = el('span', 'mention', mm[0]);
      else if (kind === 'time') {
        var d = new Date(Number(mm[1]) * 1000);
        node = el('code', 'inline', isNaN(d.getTime()) ? mm[0] : d.toLocaleString());
      }
      parent.appendChild(node);
      i += mm[0].length;
    }
    flush();
  };
  var renderMarkdown = function (text, parent, allowLinks) {
    var fence = new RegExp(TICK + TICK + TICK + '(?:([a-zA-Z0-9_+-]*)\\\\n)?([\\\\s\\\\S]*?)' + TICK + TICK + TICK, 'g');
    var last = 0, m;
    var renderLines = function (chunk) {
      var lines = chunk.split('\\n');
      for (var i = 0; i < lines.length; i++) {
        var line = lines[i];
        var h = /^(#{1,3}) (.+)$/.exec(line);
        var sub = /^-# (.+)$/.exec(line);
        var q = /^> ?(.*)$/.exec(line);
        var li = /^\\s*[-*] (.+)$/.exec(line);
        var block = null;
        if (h) { block = el('div', 'md-h' + h[1].length); renderInline(h[2], block, allowLinks); }
        else if (sub) { block = el('div', 'md-sub'); renderInline(sub[1], block, allowLinks); }
        else if (q) { block = el('blockquote'); renderInline(q[1], block, allowLinks); }
        else if (li) { block = el('div', 'md-li'); renderInline(li[1], block, allowLinks); }
        if (block) { parent.appendChild(block); continue; }
        renderInline(line, parent, allowLinks);
        if (i < lines.length - 1) parent.appendChild(document.createTextNode('\\n'));
      }
    };
    while ((m = fence.exec(text)) !== null) {
      if (m.index > last) renderLines(text.slice(last, m.index));
      parent.appendChild(el('pre', 'block', m[2].replace(/\\n$/, '')));
      last = fence.lastIndex;
    }
    if (last < text.length) renderLines(text.slice(last));
  };

  // ---- embeds, attachments, components ----
  var mediaBox = function (label, url, cls) {
    var box = el('div', cls);
    if (sameOriginAttachment(url)) {
      var img = el('img', 'attachment-image');
      img.src = url;
      img.alt = label;
      box.appendChild(img);
      return box;
    }
    var href = safeUrl(url);
    var ph = href ? link(href, '') : el('div');
    ph.className = 'media-placeholder';
    ph.title = (href || '') + ' (external images are not loaded)';
    ph.appendChild(el('span', null, label));
    box.appendChild(ph);
    return box;
  };
  var renderEmbed = function (e) {
    var box = el('div', 'embed');
    if (typeof e.color === 'number') box.style.borderLeftColor = '#' + ('000000' + e.color.toString(16)).slice(-6);
    if (e.author && e.author.name) {
      var author = el('div', 'embed-author');
      var aurl = safeUrl(e.author.url);
      author.appendChild(aurl ? link(aurl, e.author.name) : el('span', null, e.author.name));
      box.appendChild(author);
    }
    if (e.title) {
      var title = el('div', 'embed-title');
      var turl = safeUrl(e.url);
      if (turl) { var a = link(turl, ''); renderInline(e.title, a, false); title.appendChild(a); }
      else renderInline(e.title, title, false);
      box.appendChild(title);
    }
    if (e.description) {
      var desc = el('div', 'embed-description');
      renderMarkdown(e.description, desc, true);
      box.appendChild(desc);
    }
    if (e.fields && e.fields.length) {
      var fields = el('div', 'embed-fields');
      var run = [];
      var place = function () {
        var span = run.length === 1 ? 12 : run.length === 2 ? 6 : 4;
        for (var k = 0; k < run.length; k++) {
          var start = 1 + k * span;
          run[k].style.gridColumn = start + ' / ' + (start + span);
        }
        run = [];
      };
      for (var i = 0; i < e.fields.length; i++) {
        var f = e.fields[i];
        var field = el('div', 'embed-field');
        var fname = el('div', 'embed-field-name');
        renderInline(f.name || '', fname, false);
        var fvalue = el('div', 'embed-field-value');
        renderMarkdown(f.value || '', fvalue, true);
        field.appendChild(fname);
        field.appendChild(fvalue);
        fields.appendChild(field);
        if (f.inline) { run.push(field); if (run.length === 3) place(); }
        else { place(); }
      }
      place();
      box.appendChild(fields);
    }
    if (e.image && e.image.url) box.appendChild(mediaBox('image (not loaded offline)', e.image.url, 'embed-media'));
    if (e.thumbnail && e.thumbnail.url) box.appendChild(mediaBox('thumbnail', e.thumbnail.url, 'embed-thumb'));
    if ((e.footer && e.footer.text) || e.timestamp) {
      var footer = el('div', 'embed-footer');
      if (e.footer && e.footer.text) footer.appendChild(el('span', null, e.footer.text));
      if (e.footer && e.footer.text && e.timestamp) footer.appendChild(el('span', null, '\\u2022'));
      if (e.timestamp) footer.appendChild(el('span', null, formatTime(e.timestamp)));
      box.appendChild(footer);
    }
    return box;
  };
  var renderComponents = function (rows, parent) {
    for (var r = 0; r < rows.length; r++) {
      var row = rows[r];
      if (!row || !row.components) continue;
      var line = el('div', 'components');
      for (var c = 0; c < row.components.length; c++) {
        var comp = row.components[c];
        var styles = { 1: 'primary', 2: 'secondary', 3: 'success', 4: 'danger', 5: 'secondary' };
        line.appendChild(el('span', 'button ' + (styles[comp.style] || 'secondary'), comp.label || comp.placeholder || comp.custom_id || 'component'));
      }
      parent.appendChild(line);
    }
  };
  var humanSize = function (n) {
    return n < 1024 ? n + ' bytes' : n < 1048576 ? (n / 1024).toFixed(2) + ' KB' : (n / 1048576).toFixed(2) + ' MB';
  };

  // ---- messages ----
  var renderMessage = function (m) {
    var row = el('div', 'msg' + (m.ephemeral ? ' ephemeral' : ''));
    row.id = 'msg-' + m.id;
    if (m.interaction) {
      var rl = el('div', 'reply-line');
      rl.appendChild(el('span', null, '\\u21B1 ' + m.interaction.user.username + ' used'));
      rl.appendChild(el('span', 'cmd', '/' + m.interaction.command));
      row.appendChild(rl);
    }
    var avatar = el('div', 'avatar', (m.author.username || '?').charAt(0).toUpperCase());
    avatar.style.background = colorOf(m.author.id);
    if (m.interaction) avatar.style.top = '26px';
    row.appendChild(avatar);
    var head = el('div', 'msg-head');
    head.appendChild(el('span', 'author', m.author.username));
    if (m.author.bot) head.appendChild(el('span', 'app-tag', 'App'));
    var time = el('span', 'time', formatTime(m.timestamp));
    time.title = new Date(m.timestamp).toString();
    head.appendChild(time);
    row.appendChild(head);
    if (m.flags & 128) {
      row.appendChild(el('div', 'thinking', m.author.username + ' is thinking...'));
    } else if (m.content) {
      var content = el('div', 'content');
      renderMarkdown(m.content, content, true);
      if (m.edited_timestamp) content.appendChild(el('span', 'edited', '(edited)'));
      row.appendChild(content);
    }
    if (m.embeds && m.embeds.length && !(m.flags & 4)) {
      var embeds = el('div', 'embeds');
      for (var i = 0; i < m.embeds.length; i++) embeds.appendChild(renderEmbed(m.embeds[i]));
      row.appendChild(embeds);
    }
    for (var j = 0; j < (m.attachments || []).length; j++) {
      var att = m.attachments[j];
      if (/^image\\//.test(att.content_type || '') && sameOriginAttachment(att.url)) {
        var img = el('img', 'attachment-image');
        img.src = att.url;
        img.alt = att.filename;
        row.appendChild(img);
        continue;
      }
      var file = el('div', 'attachment');
      file.appendChild(el('span', 'file-icon'));
      var meta = el('div');
      meta.appendChild(sameOriginAttachment(att.url) ? link(att.url, att.filename) : el('span', null, att.filename));
      meta.appendChild(el('span', 'size', humanSize(att.size)));
      file.appendChild(meta);
      row.appendChild(file);
    }
    if (m.components && m.components.length) renderComponents(m.components, row);
    var p = m.mentions || {};
    var pinged = [];
    if (p.everyone) pinged.push('@everyone');
    if (p.here) pinged.push('@here');
    (p.users || []).forEach(function (id) { pinged.push('@' + (names.users[id] || id)); });
    (p.roles || []).forEach(function (id) { pinged.push('@' + (names.roles[id] || id)); });
    if (pinged.length) row.appendChild(el('div', 'pings', 'pinged ' + pinged.join(', ')));
    if (m.ephemeral) {
      var note = el('div', 'ephemeral-note', 'Only you can see this \\u2022 ');
      var dismiss = el('a', null, 'Dismiss message');
      dismiss.href = '#';
      dismiss.addEventListener('click', function (ev) { ev.preventDefault(); row.remove(); });
      note.appendChild(dismiss);
      row.appendChild(note);
    }
    return row;
  };

  var list = document.getElementById('messages');
  var renderChannel = function () {
    list.textContent = '';
    var channel = state && state.channels.filter(function (c) { return c.id === selected; })[0];
    document.getElementById('channel-title').textContent = channel ? channel.name : '';
    document.getElementById('composer').textContent = channel ? 'Message #' + channel.name + ' (read-only preview: the bot posts here through the sandbox API)' : '';
    if (!channel) return;
    var welcome = el('div', 'welcome');
    welcome.appendChild(el('div', 'big-hash', '#'));
    welcome.appendChild(el('h1', null, 'Welcome to #' + channel.name + '!'));
    welcome.appendChild(el('p', null, 'This is the start of the #' + channel.name + ' channel. Channel ID ' + channel.id + '.'));
    list.appendChild(welcome);
    (messages[selected] || []).forEach(function (m) { list.appendChild(renderMessage(m)); });
    list.scrollTop = list.scrollHeight;
  };
  var renderSidebar = function () {
    document.getElementById('guild-name').textContent = state.guild.name;
    document.getElementById('guild-icon').textContent = state.guild.name.charAt(0).toUpperCase();
    document.title = state.guild.name + ' \\u2014 zmq-notify sandbox';
    var box = document.getElementById('channels');
    box.textContent = '';
    state.channels.forEach(function (c) {
      var item = el('div', 'channel' + (c.id === selected ? ' active' : '') + (unread[c.id] ? ' unread' : ''));
      item.setAttribute('data-channel', c.id);
      item.appendChild(el('span', 'hash', '#'));
      item.appendChild(el('span', 'name', c.name));
      if (unread[c.id]) item.appendChild(el('span', 'badge', unread[c.id]));
      item.addEventListener('click', function () { location.hash = c.id; });
      box.appendChild(item);
    });
    var cmds = document.getElementById('commands');
    cmds.textContent = '';
    var all = state.commands.guild.concat(state.commands.global);
    if (!all.length) cmds.appendChild(el('div', 'empty-note', 'none registered yet'));
    all.forEach(function (c) {
      var item = el('div', 'command');
      item.appendChild(el('b', null, '/' + c.name));
      item.appendChild(el('span', 'desc', (c.description || '') + (c.guild_id ? '' : ' (global)')));
      cmds.appendChild(item);
    });
  };
  var select = function (id) {
    if (!state) return;
    var exists = state.channels.some(function (c) { return c.id === id; });
    if (!exists) {
      var withMessages = state.channels.filter(function (c) { return (messages[c.id] || []).length; })[0];
      var general = state.channels.filter(function (c) { return c.name === 'general'; })[0];
      id = (withMessages || general || state.channels[0] || {}).id;
    }
    selected = id;
    delete unread[id];
    renderSidebar();
    renderChannel();
  };
  var loadState = function () {
    return fetch('/sandbox/state').then(function (r) { return r.json(); }).then(function (s) {
      state = s;
      names.users = {}; names.roles = {}; names.channels = {};
      s.members.forEach(function (m) { names.users[m.id] = m.username; });
      s.roles.forEach(function (r) { names.roles[r.id] = r.name; });
      s.channels.forEach(function (c) { names.channels[c.id] = c.name; });
    });
  };
  var upsert = function (m) {
    var arr = messages[m.channel_id] || (messages[m.channel_id] = []);
    for (var i = 0; i < arr.length; i++) if (arr[i].id === m.id) { arr[i] = m; return false; }
    arr.push(m);
    if (arr.length > 1000) arr.shift();
    return true;
  };
  var connect = function () {
    var status = document.getElementById('status');
    var source = new EventSource('/sandbox/events');
    source.onopen = function () { status.className = 'live'; status.lastChild.textContent = 'live'; };
    source.onerror = function () { status.className = ''; status.lastChild.textContent = 'reconnecting...'; };
    source.addEventListener('message', function (ev) {
      var m = JSON.parse(ev.data);
      upsert(m);
      if (m.channel_id === selected) {
        var near = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
        list.appendChild(renderMessage(m));
        if (near) list.scrollTop = list.scrollHeight;
      } else {
        unread[m.channel_id] = (unread[m.channel_id] || 0) + 1;
        renderSidebar();
      }
    });
    source.addEventListener('message_update', function (ev) {
      var m = JSON.parse(ev.data);
      upsert(m);
      var existing = document.getElementById('msg-' + m.id);
      if (existing) existing.replaceWith(renderMessage(m));
      else if (m.channel_id === selected) list.appendChild(renderMessage(m));
    });
    source.addEventListener('message_delete', function (ev) {
      var d = JSON.parse(ev.data);
      messages[d.channel_id] = (messages[d.channel_id] || []).filter(function (m) { return d.ids.indexOf(m.id) === -1; });
      d.ids.forEach(function (id) { var n = document.getElementById('msg-' + id); if (n) n.remove(); });
    });
    var refresh = function () { loadState().then(renderSidebar); };
    source.addEventListener('commands', refresh);
    source.addEventListener('member', refresh);
  };
  window.addEventListener('hashchange', function () { select(location.hash.slice(1)); });
  loadState()
    .then(function () { return fetch('/sandbox/messages').then(function (r) { return r.json(); }); })
    .then(function (all) {
      all.forEach(upsert);
      select(location.hash.slice(1));
      connect();
    });
})();
`;

/** The page's HTML; `nonce` authorises its one inline style and script under the CSP. */
export function renderPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>zmq-notify sandbox</title>
<style nonce="${nonce}">${style}</style>
</head>
<body>
<nav id="rail"><div class="guild-icon" id="guild-icon" title="sandbox guild"></div></nav>
<aside id="sidebar">
  <div id="guild-name"></div>
  <div id="sidebar-scroll">
    <div class="section">Text channels</div>
    <div id="channels"></div>
    <div class="section">Slash commands</div>
    <div id="commands"></div>
  </div>
  <div id="links">sandbox: <a href="/sandbox/state">state</a><a href="/sandbox/stats">stats</a><a href="/sandbox/messages">messages</a></div>
</aside>
<main id="main">
  <header id="header"><span class="hash">#</span><span id="channel-title"></span><span id="status"><span class="dot"></span><span>connecting...</span></span></header>
  <section id="messages" aria-live="polite"></section>
  <div id="composer"></div>
</main>
<script nonce="${nonce}">${script}</script>
</body>
</html>
`;
}

/** The Content-Security-Policy the page is served with. */
export function pagePolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
