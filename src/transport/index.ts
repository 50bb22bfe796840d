export {
  decodeMessage,
  encodeMessage,
  malformedKinds,
  MAX_RAW_CHARS,
  type DecodeOptions,
  type DecodeResult,
  type Envelope,
  type MalformedFrame,
  type MalformedKind,
} from './codec.ts';
export { SequenceTracker, type PublisherState, type SeqObservation, type SequenceTrackerOptions } from './seq.ts';
export {
  Subscriber,
  type ListenerState,
  type MalformedReport,
  type SubscriberEvents,
  type SubscriberOptions,
  type SubscriberStats,
} from './subscriber.ts';
export { EventPublisher, defaultSource, type EventPublisherOptions } from './publisher.ts';
