// the tags teleport-event-handler posts under, and whether a config's rules cover them. a fluent.conf with only
// <match test.log> answers the handler's session posts 200 and drops them: migrate says so before that happens.
import { compilePattern } from '../../router/pattern.js';

export interface HandlerTag {
  /** what the handler sends under it, for messages */
  what: string;
  /** the tag as a reader sees it (`session.<sid>.log`) */
  shown: string;
  /** concrete tags to match; covered when a rule matches any of them */
  samples: string[];
  /** the pattern of a rule that ships them */
  pattern: string;
}

// a session id as teleport writes it, to ask matchers about a session tag
const SAMPLE_SID = '8d57a9d5-3848-5ce2-a326-85eb4a6d2eed';

/** the tag of a url, as the handler's fluentd client gives it (path parts joined by dots); null without a path */
export function tagOfUrl(url: string): string | null {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return null;
  }
  const tag = path.split('/').filter(Boolean).join('.');
  return tag === '' ? null : tag;
}

/**
 * the handler's tags, from its [forward.fluentd] url and session-url when given, else teleport's defaults: audit
 * events on test.log (the guide's) or events.log (newer templates), recordings on session.<sid>.log
 */
export function handlerTags(urls: { url?: string; sessionUrl?: string }): HandlerTag[] {
  const events = urls.url === undefined ? null : tagOfUrl(urls.url);
  const prefix = (urls.sessionUrl === undefined ? null : tagOfUrl(urls.sessionUrl)) ?? 'session';
  return [
    events === null
      ? {
          what: 'audit events',
          shown: 'test.log or events.log',
          samples: ['test.log', 'events.log'],
          pattern: 'test.log events.log',
        }
      : { what: 'audit events', shown: events, samples: [events], pattern: events },
    {
      what: 'session recordings',
      shown: `${prefix}.<sid>.log`,
      samples: [`${prefix}.${SAMPLE_SID}.log`],
      pattern: `${prefix}.*.log`,
    },
  ];
}

/** the tags no rule matches; a `null` rule covers its tags too (dropping them is then a choice) */
export function uncoveredTags(tags: HandlerTag[], patterns: string[]): HandlerTag[] {
  const matchers = patterns.flatMap((p) => {
    try {
      return [compilePattern(p)];
    } catch {
      return [];
    }
  });
  return tags.filter((t) => !t.samples.some((tag) => matchers.some((m) => m(tag))));
}
