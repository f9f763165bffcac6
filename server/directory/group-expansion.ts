import { DirectoryLimits } from '../../protocol/index.ts';
import type { Db } from '../db/database.ts';
import { findEntriesByIds, membersOf, type EntryRow } from './directory.repository.ts';

/**
 * Expands a distribution list into the people and resources it reaches,
 * each once, breadth first: one query per nesting level, at most
 * DirectoryLimits.maxExpandDepth levels and `maxMembers` results. Hidden
 * members (and whatever is only reachable through a hidden group) stay out.
 * Cycles are refused on write; the visited set guards anyway.
 */
export async function expandGroup(db: Db, domainId: string, groupId: string, maxMembers: number): Promise<{ rows: EntryRow[]; truncated: boolean }> {
  const visited = new Set<string>([groupId]);
  const rows: EntryRow[] = [];
  let frontier = [groupId];
  let truncated = false;
  for (let depth = 0; frontier.length > 0; depth++) {
    if (depth >= DirectoryLimits.maxExpandDepth) {
      truncated = true;
      break;
    }
    const members = await membersOf(db, frontier, { visibleOnly: true });
    const next = [...new Set([...members.values()].flat())].filter((id) => !visited.has(id));
    for (const id of next) visited.add(id);
    const entries = await findEntriesByIds(db, domainId, next, { visibleOnly: true });
    entries.sort((a, b) => a.display_name.localeCompare(b.display_name) || a.id.localeCompare(b.id));
    frontier = [];
    for (const entry of entries) {
      if (entry.kind === 'group') frontier.push(entry.id);
      else if (rows.length < maxMembers) rows.push(entry);
      else truncated = true;
    }
    if (truncated) break;
  }
  return { rows, truncated };
}
