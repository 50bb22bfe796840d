import {
  ApplicationCommandOptionType as OptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  type APIApplicationCommand,
  type APIApplicationCommandOption,
} from 'discord-api-types/v10';
import { isObject } from '../shared/json.ts';
import { Errors, FormErrors } from './errors.ts';
import type { SnowflakeGenerator } from './snowflake.ts';

const chatInput = ApplicationCommandType.ChatInput;
const commandTypes: readonly unknown[] = Object.values(ApplicationCommandType).filter((v) => typeof v === 'number');
const optionTypes: readonly unknown[] = Object.values(OptionType).filter((v) => typeof v === 'number');
const nameRule = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;
const maxCommands = 100;
const maxOptions = 25;
const maxChoices = 25;

type Path = (string | number)[];

function checkName(errors: FormErrors, path: Path, value: unknown, lowercase: boolean): string | undefined {
  if (typeof value !== 'string') {
    errors.add(path, 'BASE_TYPE_REQUIRED', 'This field is required');
    return undefined;
  }
  if (!nameRule.test(value) || (lowercase && value !== value.toLowerCase())) {
    errors.add(path, 'APPLICATION_COMMAND_INVALID_NAME', `Command name is invalid`);
    return undefined;
  }
  return value;
}

function checkDescription(errors: FormErrors, path: Path, value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length < 1 || value.length > 100) {
    errors.add(path, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    return undefined;
  }
  return value;
}

function checkOptions(errors: FormErrors, path: Path, raw: unknown): APIApplicationCommandOption[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) {
    errors.add(path, 'BASE_TYPE_ARRAY', 'Must be an array.');
    return undefined;
  }
  if (raw.length > maxOptions) {
    errors.add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${maxOptions} or fewer in length.`);
    return undefined;
  }
  const seen = new Set<string>();
  let optionalSeen = false;
  const options: APIApplicationCommandOption[] = [];
  raw.forEach((option: unknown, i) => {
    const at = [...path, i];
    if (!isObject(option)) {
      errors.add(at, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
      return;
    }
    const type = option.type;
    if (!optionTypes.includes(type)) {
      errors.add([...at, 'type'], 'ENUM_TYPE_COERCE', `Value "${String(type)}" is not a valid enum value.`);
      return;
    }
    const name = checkName(errors, [...at, 'name'], option.name, true);
    checkDescription(errors, [...at, 'description'], option.description);
    if (name !== undefined) {
      if (seen.has(name)) errors.add([...at, 'name'], 'APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS', 'Option name already exists');
      seen.add(name);
    }
    const required = option.required === true;
    if (required && optionalSeen) errors.add([...at, 'required'], 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID', 'Required options must be placed before non-required options');
    if (!required) optionalSeen = true;
    if (Array.isArray(option.choices) && option.choices.length > maxChoices) {
      errors.add([...at, 'choices'], 'BASE_TYPE_MAX_LENGTH', `Must be ${maxChoices} or fewer in length.`);
    }
    const normalized: Record<string, unknown> = { ...option };
    // Discord omits `required` when false and echoes nested options in the same shape.
    if (!required) delete normalized.required;
    if (type === OptionType.Subcommand || type === OptionType.SubcommandGroup) {
      const nested = checkOptions(errors, [...at, 'options'], option.options);
      if (nested) normalized.options = nested;
    }
    options.push(normalized as unknown as APIApplicationCommandOption);
  });
  return options;
}

/** One scope of registered commands: global (`guildId` null) or one guild. */
type Scope = string | null;

/** The application commands registered with the sandbox, validated and stored as Discord returns them. */
export class CommandRegistry {
  private readonly scopes = new Map<Scope, APIApplicationCommand[]>();

  constructor(
    private readonly applicationId: string,
    private readonly ids: SnowflakeGenerator,
    private readonly onChange: (guildId: Scope) => void,
  ) {}

  /** The commands of a scope, in registration order. */
  list(guildId: Scope): APIApplicationCommand[] {
    return [...(this.scopes.get(guildId) ?? [])];
  }

  /** Every scope with its commands. */
  all(): { global: APIApplicationCommand[]; guilds: Record<string, APIApplicationCommand[]> } {
    const guilds: Record<string, APIApplicationCommand[]> = {};
    for (const [scope, commands] of this.scopes) if (scope !== null) guilds[scope] = [...commands];
    return { global: this.list(null), guilds };
  }

  /** A command by ID within a scope. */
  get(guildId: Scope, id: string): APIApplicationCommand {
    const command = this.scopes.get(guildId)?.find((c) => c.id === id);
    if (!command) throw Errors.unknownCommand();
    return command;
  }

  /** Finds the chat-input command an invocation names: a guild command first, then a global one. */
  findByName(name: string, guildId: string | null): APIApplicationCommand | undefined {
    const byName = (c: APIApplicationCommand): boolean => c.name === name && c.type === chatInput;
    return (guildId === null ? undefined : this.scopes.get(guildId)?.find(byName)) ?? this.scopes.get(null)?.find(byName);
  }

  /** PUT: replaces a scope's commands; a command keeps its ID when its name and type match an existing one. */
  overwrite(guildId: Scope, raw: unknown): APIApplicationCommand[] {
    if (!Array.isArray(raw)) {
      const errors = new FormErrors();
      errors.add([], 'BASE_TYPE_ARRAY', 'Must be an array.');
      errors.throwIfAny();
      return [];
    }
    const errors = new FormErrors();
    if (raw.length > maxCommands) errors.add([], 'BASE_TYPE_MAX_LENGTH', `Must be ${maxCommands} or fewer in length.`);
    const existing = this.scopes.get(guildId) ?? [];
    const seen = new Set<string>();
    const next: APIApplicationCommand[] = [];
    raw.forEach((body: unknown, i) => {
      const command = this.build(errors, [i], guildId, body);
      if (!command) return;
      const key = `${command.type}:${command.name}`;
      if (seen.has(key)) errors.add([i, 'name'], 'APPLICATION_COMMANDS_DUPLICATE_NAME', 'Application command names must be unique');
      seen.add(key);
      const previous = existing.find((c) => c.name === command.name && c.type === command.type);
      next.push(previous ? { ...command, id: previous.id } : command);
    });
    errors.throwIfAny();
    this.scopes.set(guildId, next);
    this.onChange(guildId);
    return [...next];
  }

  /** POST: creates a command, or updates the one with the same name and type. */
  upsert(guildId: Scope, body: unknown): { command: APIApplicationCommand; created: boolean } {
    const errors = new FormErrors();
    const built = this.build(errors, [], guildId, body);
    errors.throwIfAny();
    // build() records an error whenever it returns nothing, so throwIfAny() has thrown by now.
    const command = built as APIApplicationCommand;
    const list = [...(this.scopes.get(guildId) ?? [])];
    const index = list.findIndex((c) => c.name === command.name && c.type === command.type);
    if (index >= 0) list[index] = { ...command, id: (list[index] as APIApplicationCommand).id };
    else list.push(command);
    this.scopes.set(guildId, list);
    this.onChange(guildId);
    return { command: list[index >= 0 ? index : list.length - 1] as APIApplicationCommand, created: index < 0 };
  }

  /** PATCH: changes some fields of a command. */
  edit(guildId: Scope, id: string, body: unknown): APIApplicationCommand {
    const current = this.get(guildId, id);
    const merged = { ...current, ...(isObject(body) ? body : {}) };
    const errors = new FormErrors();
    const command = this.build(errors, [], guildId, merged) as APIApplicationCommand;
    errors.throwIfAny();
    const list = (this.scopes.get(guildId) ?? []).map((c) => (c.id === id ? { ...command, id } : c));
    this.scopes.set(guildId, list);
    this.onChange(guildId);
    return this.get(guildId, id);
  }

  /** DELETE: removes a command. */
  remove(guildId: Scope, id: string): void {
    this.get(guildId, id);
    this.scopes.set(guildId, (this.scopes.get(guildId) ?? []).filter((c) => c.id !== id));
    this.onChange(guildId);
  }

  private build(errors: FormErrors, path: Path, guildId: Scope, body: unknown): APIApplicationCommand | undefined {
    if (!isObject(body)) {
      errors.add(path, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
      return undefined;
    }
    const type = body.type === undefined || body.type === null ? chatInput : body.type;
    if (!commandTypes.includes(type)) {
      errors.add([...path, 'type'], 'ENUM_TYPE_COERCE', `Value "${String(type)}" is not a valid enum value.`);
      return undefined;
    }
    const name = checkName(errors, [...path, 'name'], body.name, type === chatInput);
    const description = type === chatInput ? checkDescription(errors, [...path, 'description'], body.description) : '';
    const options = type === chatInput ? checkOptions(errors, [...path, 'options'], body.options) : undefined;
    if (name === undefined || description === undefined) return undefined;
    const permissions = body.default_member_permissions;
    // The fields not checked above are echoed as given, as Discord does.
    const command: Record<string, unknown> = {
      id: this.ids.next(),
      application_id: this.applicationId,
      version: this.ids.next(),
      default_member_permissions: typeof permissions === 'string' || typeof permissions === 'number' ? String(permissions) : null,
      type,
      name,
      name_localizations: body.name_localizations ?? null,
      description,
      description_localizations: body.description_localizations ?? null,
      nsfw: body.nsfw === true,
      contexts: Array.isArray(body.contexts) ? body.contexts : null,
      integration_types: Array.isArray(body.integration_types) ? body.integration_types : [ApplicationIntegrationType.GuildInstall],
    };
    if (guildId !== null) command.guild_id = guildId;
    else command.dm_permission = body.dm_permission !== false;
    if (options) command.options = options;
    return command as unknown as APIApplicationCommand;
  }
}
