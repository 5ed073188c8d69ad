// Small helpers the panels share: element lookup, HTML escaping, times in China time, and the
// remaining time to a deadline.
import { t, lang } from './i18n.js';

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** `s` with HTML's special characters escaped. */
export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// Deadlines follow China's working hours, so times are shown in China time whatever the
// tablet's own zone.
const ZONE = 'Asia/Shanghai';

/** An instant (RFC 3339) as a date and time in China time, e.g. 2026-03-02 14:05. */
export function formatTime(instant) {
  if (!instant) return '—';
  const d = new Date(instant);
  if (Number.isNaN(d.getTime())) return String(instant);
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', {
    timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(d).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** A duration in minutes as days, hours and minutes in the current language. */
function formatDuration(minutes) {
  const m = Math.max(0, Math.round(minutes));
  const days = Math.floor(m / 1440);
  const hours = Math.floor((m % 1440) / 60);
  const mins = m % 60;
  const zh = lang() === 'zh';
  const parts = [];
  if (days) parts.push(zh ? `${days}天` : `${days} d`);
  if (hours) parts.push(zh ? `${hours}小时` : `${hours} h`);
  if (!days && (mins || !hours)) parts.push(zh ? `${mins}分钟` : `${mins} min`);
  return parts.join(zh ? '' : ' ');
}

/**
 * The time left until `due` (an RFC 3339 instant) as `{ text, overdue }`: "剩余 3小时20分钟" or
 * "已超期 2小时"; `null` when there is no deadline.
 */
export function remaining(due, now = Date.now()) {
  if (!due) return null;
  const minutes = (new Date(due).getTime() - now) / 60000;
  return minutes >= 0
    ? { text: `${t('time_left')} ${formatDuration(minutes)}`, overdue: false }
    : { text: `${t('overdue_by')} ${formatDuration(-minutes)}`, overdue: true };
}

/** Today's date in China as YYYY-MM-DD, shifted by `days`. */
export function chinaDate(days = 0) {
  const d = new Date(Date.now() + days * 86400000);
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(d).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/** A random key (hex), also where `crypto.randomUUID` is missing (plain http on a LAN). */
export function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}
