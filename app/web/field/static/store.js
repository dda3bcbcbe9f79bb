// The phone's storage: one IndexedDB database holding the session, the commune's reference
// data, the outbox and the batches sent but not yet answered.
import { openDB, deleteDB } from "/static/vendor/idb-8.0.4/index.js";

const NAME = "field-app";

export async function open() {
  return openDB(NAME, 1, {
    upgrade(db) {
      db.createObjectStore("meta"); // key → value: the session, the outbox's sequence
      const outbox = db.createObjectStore("outbox", { keyPath: "client_id" });
      outbox.createIndex("seq", "seq");
      db.createObjectStore("batches", { keyPath: "key" });
      db.createObjectStore("people", { keyPath: "id" }); // the commune's learners, for search
    },
  });
}

// What the app needs to show its form, kept beside the page where it is read at once, with no
// database to open first: the language, the volunteer's own profile (commune, villages,
// courses), the service's rules and clock offset. Nothing of any learner.
const START = "field-app-start";

export function readStart() {
  try {
    return JSON.parse(localStorage.getItem(START)) ?? {};
  } catch {
    return {};
  }
}

export function keepStart(values) {
  localStorage.setItem(START, JSON.stringify({ ...readStart(), ...values }));
}

export async function erase(db) {
  localStorage.removeItem(START);
  db.close();
  await deleteDB(NAME);
}

// Forgets the records and the commune's learners kept for the user the phone served before.
export async function forget(db) {
  const tx = db.transaction(["outbox", "batches", "people"], "readwrite");
  await Promise.all(["outbox", "batches", "people"].map((name) => tx.objectStore(name).clear()));
  await tx.done;
}

export const getMeta = (db, key) => db.get("meta", key);
export async function getMetas(db, keys) {
  const tx = db.transaction("meta");
  const values = await Promise.all(keys.map((key) => tx.store.get(key)));
  return Object.fromEntries(keys.map((key, index) => [key, values[index]]));
}
export const setMeta = (db, key, value) => db.put("meta", value, key);

export async function records(db) {
  return db.getAllFromIndex("outbox", "seq");
}

// Saves a new or corrected record; a new one gets the next place in the outbox.
export async function saveRecord(db, record) {
  const tx = db.transaction(["outbox", "meta"], "readwrite");
  if (record.seq === undefined) {
    const seq = ((await tx.objectStore("meta").get("seq")) ?? 0) + 1;
    await tx.objectStore("meta").put(seq, "seq");
    record.seq = seq;
  }
  await tx.objectStore("outbox").put(record);
  await tx.done;
  return record;
}
