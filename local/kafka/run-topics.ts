import { randomUUID } from "node:crypto";
import { Admin } from "@platformatic/kafka";

/**
 * A fresh prefix for one run of `kind` (`test`, `bench`): its topics and consumer groups are its
 * own, so runs sharing a broker never read each other's events.
 */
export const runPrefix = (kind: string): string => `${kind}-${randomUUID().slice(0, 8)}.`;

/**
 * Deletes the topics and the idle consumer groups named with a finished run's prefix. Never with an
 * empty prefix: that would name everything on the cluster.
 */
export const deleteRunTopics = async (brokers: string[], prefix: string): Promise<void> => {
  if (prefix === "") throw new Error("deleteRunTopics needs a non-empty prefix");
  const admin = new Admin({ clientId: `run-cleanup-${randomUUID()}`, bootstrapBrokers: brokers });
  try {
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    // A group whose member was killed stays non-empty until its session times out; the broker drops
    // such a group itself once its offsets expire.
    const groups = [...(await admin.listGroups()).values()]
      .filter((group) => group.id.startsWith(prefix) && ["Empty", "EMPTY"].includes(group.state))
      .map((group) => group.id);
    if (groups.length > 0) await admin.deleteGroups({ groups });
  } finally {
    await admin.close();
  }
};
