// The outbox's sending: batches of at most 1,000 records, each sent with an Idempotency-Key
// made once and stored with the batch, so a batch whose answer never came is sent again
// unchanged, with the same key, and nothing is stored twice.

export const MAX_BATCH = 1000;
// Records the service has not acknowledged yet: they stay on the phone, ID number included.
export const UNACKNOWLEDGED = new Set(["saved", "sending", "rejected"]);

export class NeedsSignIn extends Error {}

export class Refused extends Error {
  constructor(problem) {
    super(problem?.detail ?? problem?.title ?? "refused");
    this.problem = problem;
  }
}

// The batch to send: the one still unanswered if any, else a new one of saved records.
// Stored with its records marked "sending" in one transaction, so a closed app resumes it.
export async function nextBatch(db) {
  const tx = db.transaction(["outbox", "batches"], "readwrite");
  const [unanswered] = await tx.objectStore("batches").getAll();
  if (unanswered) {
    await tx.done;
    return unanswered;
  }
  const all = await tx.objectStore("outbox").index("seq").getAll();
  const byClientId = new Map(all.map((record) => [record.client_id, record]));
  const chosen = [];
  const learners = [];
  const completions = [];
  for (const record of all) {
    if (record.kind !== "learner" || record.state !== "saved" || chosen.length >= MAX_BATCH) continue;
    learners.push({ client_id: record.client_id, ...record.body });
    chosen.push(record);
  }
  const inBatch = new Set(chosen.map((record) => record.client_id));
  for (const record of all) {
    if (record.kind !== "completion" || record.state !== "saved" || chosen.length >= MAX_BATCH) continue;
    const body = { ...record.body };
    if (body.learner_client_id) {
      const learner = byClientId.get(body.learner_client_id);
      if (learner?.result_id) {
        // The learner is stored: point at the stored id.
        delete body.learner_client_id;
        body.learner_id = learner.result_id;
      } else if (!inBatch.has(body.learner_client_id)) {
        continue; // waits for its learner to be accepted
      }
    }
    completions.push({ client_id: record.client_id, ...body });
    chosen.push(record);
  }
  if (chosen.length === 0) {
    await tx.done;
    return null;
  }
  const batch = {
    key: crypto.randomUUID(),
    body: JSON.stringify({ learners, completions }),
    client_ids: chosen.map((record) => record.client_id),
  };
  await tx.objectStore("batches").put(batch);
  for (const record of chosen) {
    record.state = "sending";
    record.batch_key = batch.key;
    await tx.objectStore("outbox").put(record);
  }
  await tx.done;
  return batch;
}

// Applies the service's answer to a batch; acknowledged records lose their ID number.
export async function applyAnswer(db, batch, results) {
  const tx = db.transaction(["outbox", "batches"], "readwrite");
  const outbox = tx.objectStore("outbox");
  const answered = new Set();
  for (const result of results) {
    const record = await outbox.get(result.client_id);
    if (!record || record.batch_key !== batch.key) continue;
    answered.add(record.client_id);
    record.batch_key = null;
    if (result.status === "rejected") {
      record.state = "rejected";
      record.problem = result.problem;
    } else {
      record.state = result.status === "created" ? "sent" : "duplicate";
      record.result_id = result.id;
      record.problem = null;
      if (record.kind === "learner" && record.body.citizen_id) {
        record.id_last4 = record.body.citizen_id.trim().slice(-4);
        delete record.body.citizen_id;
      }
    }
    await outbox.put(record);
  }
  for (const clientId of batch.client_ids) {
    if (answered.has(clientId)) continue;
    const record = await outbox.get(clientId);
    if (record && record.batch_key === batch.key) {
      record.state = "saved";
      record.batch_key = null;
      await outbox.put(record);
    }
  }
  await tx.objectStore("batches").delete(batch.key);
  await tx.done;
}

// A whole batch refused (not a record's problem): its records are shown with the reason.
async function refuseBatch(db, batch, problem) {
  await applyAnswer(
    db,
    batch,
    batch.client_ids.map((clientId) => ({ client_id: clientId, status: "rejected", problem })),
  );
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Sends every batch there is. Throws on a network failure (the batch stays, to be sent again
// with the same key), NeedsSignIn when the session has expired (nothing is lost).
export async function sendAll(db, post, afterBatch = () => {}) {
  let waits = 0;
  for (;;) {
    const batch = await nextBatch(db);
    if (!batch) return;
    const response = await post("/api/v1/sync", batch.body, { "Idempotency-Key": batch.key });
    if (response.status === 401) throw new NeedsSignIn();
    if (response.status >= 500) throw new Error(`service unavailable (${response.status})`);
    if (response.status === 409 || response.status === 429) {
      // Still being stored, or too busy: the same batch again, a little later.
      if (++waits > 5) throw new Error("service busy");
      const seconds = Number(response.headers.get("Retry-After")) || 2;
      await pause(Math.min(seconds, 30) * 1000);
      continue;
    }
    const answer = await response.json().catch(() => null);
    if (!response.ok || !answer?.results) {
      await refuseBatch(db, batch, answer);
      throw new Refused(answer);
    }
    await applyAnswer(db, batch, answer.results);
    await afterBatch();
  }
}
