import {
  ApplicationCommandOptionType as OptionType,
  type APIApplicationCommand,
  type APIApplicationCommandInteractionDataOption,
  type APIApplicationCommandOption,
  type APIInteractionDataResolved,
  type APIInteractionDataResolvedChannel,
} from 'discord-api-types/v10';
import { isObject } from '../shared/json.ts';
import { channelPayload, memberPayload } from './payloads.ts';
import type { SandboxStore } from './store.ts';

/** An invocation's options as POST /sandbox/interactions takes them: `{ name: value }` (subcommands nested) or Discord's option array. */
export type GivenOptions = Record<string, unknown> | unknown[];

/** A chat-input command's options as INTERACTION_CREATE carries them, with the users, roles and channels they name. */
export interface InteractionOptions {
  options?: APIApplicationCommandInteractionDataOption[];
  resolved?: APIInteractionDataResolved;
}

type Option = APIApplicationCommandInteractionDataOption;

/**
 * Checks the options given for `command` against its definition and builds them as Discord does:
 * typed values, subcommands nested, and the users, members, roles and channels they name resolved.
 * Throws an Error saying what is wrong (unknown option, wrong type, missing required option, unknown ID).
 */
export function interactionOptions(store: SandboxStore, command: APIApplicationCommand, given: GivenOptions | undefined | null, autocomplete?: { focused: string }): InteractionOptions {
  const resolved: APIInteractionDataResolved = {};
  const defs = command.options ?? [];
  if (given === undefined || given === null) {
    if (autocomplete) throw new Error(`the focused option "${autocomplete.focused}" must be given, with what the member has typed so far`);
    checkRequired(defs, []);
    return {};
  }
  const parser = new OptionParser(store, resolved, autocomplete?.focused);
  const options = Array.isArray(given) ? parser.fromArray(defs, given) : parser.fromObject(defs, given);
  if (autocomplete && !parser.focusedFound) throw new Error(`the focused option "${autocomplete.focused}" is not among the options given, or does not have autocomplete on`);
  return { options, ...(Object.keys(resolved).length > 0 && { resolved }) };
}

function checkRequired(defs: readonly APIApplicationCommandOption[], names: string[]): void {
  for (const def of defs) {
    if ('required' in def && def.required === true && !names.includes(def.name)) throw new Error(`option "${def.name}" is required`);
  }
}

function isSubcommand(type: OptionType): type is OptionType.Subcommand | OptionType.SubcommandGroup {
  return type === OptionType.Subcommand || type === OptionType.SubcommandGroup;
}

class OptionParser {
  /** Whether the focused option (autocomplete) was found among the given ones. */
  focusedFound = false;

  constructor(
    private readonly store: SandboxStore,
    private readonly resolved: APIInteractionDataResolved,
    // The option an autocomplete interaction is for: sent as typed, marked focused; required ones may be missing, as on Discord.
    private readonly focused?: string,
  ) {}

  fromArray(defs: readonly APIApplicationCommandOption[], given: unknown[]): Option[] {
    const asObject: Record<string, unknown> = {};
    for (const item of given) {
      if (!isObject(item) || typeof item.name !== 'string') throw new Error('each option must be an object with a name');
      asObject[item.name] = 'options' in item && Array.isArray(item.options) ? item.options : item.value;
    }
    return this.fromObject(defs, asObject);
  }

  fromObject(defs: readonly APIApplicationCommandOption[], given: Record<string, unknown>): Option[] {
    const out: Option[] = [];
    for (const [name, value] of Object.entries(given)) {
      const def = defs.find((d) => d.name === name);
      if (!def) throw new Error(`the command has no option "${name}" (it has: ${defs.map((d) => d.name).join(', ') || 'none'})`);
      if (def.type === OptionType.Subcommand || def.type === OptionType.SubcommandGroup) {
        const nestedDefs = (def.options ?? []) as APIApplicationCommandOption[];
        const nested = Array.isArray(value) ? this.fromArray(nestedDefs, value) : this.fromObject(nestedDefs, isObject(value) ? value : {});
        out.push({ type: def.type, name, options: nested } as Option);
        continue;
      }
      if (this.focused === name && 'autocomplete' in def && def.autocomplete === true) {
        this.focusedFound = true;
        out.push({ type: def.type, name, value: String(value), focused: true } as Option);
        continue;
      }
      out.push({ type: def.type, name, value: this.coerce(def, value) } as Option);
    }
    if (this.focused === undefined && !out.some((o) => isSubcommand(o.type))) checkRequired(defs, Object.keys(given));
    return out;
  }

  private coerce(def: APIApplicationCommandOption, value: unknown): unknown {
    switch (def.type) {
      case OptionType.String:
        return String(value);
      case OptionType.Integer:
        if (typeof value !== 'number' || !Number.isInteger(value)) throw new Error(`option "${def.name}" must be an integer`);
        return value;
      case OptionType.Number:
        if (typeof value !== 'number') throw new Error(`option "${def.name}" must be a number`);
        return value;
      case OptionType.Boolean:
        if (typeof value !== 'boolean') throw new Error(`option "${def.name}" must be true or false`);
        return value;
      case OptionType.User:
      case OptionType.Channel:
      case OptionType.Role:
      case OptionType.Mentionable: {
        const id = String(value);
        const found =
          def.type === OptionType.User ? this.asUser(id) : def.type === OptionType.Channel ? this.asChannel(id) : def.type === OptionType.Role ? this.asRole(id) : this.asUser(id) || this.asRole(id);
        if (!found) throw new Error(`option "${def.name}": no such ${def.type === OptionType.Channel ? 'channel' : def.type === OptionType.Role ? 'role' : 'user'} ${id}`);
        return id;
      }
      default:
        return value;
    }
  }

  private asUser(id: string): boolean {
    const { store, resolved } = this;
    if (!store.allUsers().some((u) => u.id === id)) return false;
    (resolved.users ??= {})[id] = store.user(id);
    if (store.isMember(id)) {
      const { user: _user, deaf: _deaf, mute: _mute, ...member } = memberPayload(store, id);
      (resolved.members ??= {})[id] = { ...member, permissions: store.memberPermissions(id).toString() };
    }
    return true;
  }

  private asRole(id: string): boolean {
    const { store, resolved } = this;
    if (!store.allRoles().some((r) => r.id === id)) return false;
    (resolved.roles ??= {})[id] = store.role(id);
    return true;
  }

  private asChannel(id: string): boolean {
    const { store, resolved } = this;
    const c = store.findChannel(id);
    if (!c) return false;
    const { type, name } = channelPayload(store, c);
    (resolved.channels ??= {})[id] = { id, type, name, permissions: store.memberPermissions(store.bot.id).toString() } as APIInteractionDataResolvedChannel;
    return true;
  }
}
