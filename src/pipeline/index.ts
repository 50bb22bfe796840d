export type { EventMeta, ZmqEvent } from './event.ts';
export { BoundedQueue, type BoundedQueueOptions, type PushOutcome } from './bounded-queue.ts';
export { Dispatcher, type DispatcherOptions, type DispatcherStats, type HandlerFailure } from './dispatcher.ts';
export {
  defineModule,
  isModuleDefinition,
  InvalidModuleError,
  type BotEvent,
  type CoreModuleContext,
  type Handler,
  type HandlerCall,
  type HandlerOptions,
  type ModuleCleanup,
  type ModuleContext,
  type ModuleDefinition,
  type Unsubscribe,
} from './module.ts';
export { loadModules, setupModules, createContext, ModuleLoadError, type ContextSources, type LoadedModule, type SetUpModules } from './modules.ts';
export { TopicPriorities } from './priorities.ts';
export { HandlerRegistry, type HandlerInfo, type Registration } from './registry.ts';
