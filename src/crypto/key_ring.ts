/**
 * Envelope encryption per tenant: a master key (a KMS in production) wraps one data key per
 * tenant and version; data is encrypted with the tenant's current data key (AES-256-GCM).
 *
 * @module
 */
import { CryptoError } from "./crypto_error.ts";
import type { KeyStore, WrappedKey } from "./key_store.ts";
import { fromBase64, fromBase64Url, toBase64, toBase64Url } from "./_base64.ts";

/** Options of {@link KeyRing}. */
export interface KeyRingOptions {
  /** The master key: 32 random bytes, base64 (see {@link generateMasterKey}). */
  masterKey: string;
  /** Where wrapped data keys live (the catalog's `tenant_keys`, or memory). */
  store: KeyStore;
  /**
   * How long an unwrapped key stays cached in this process. Bounds how long another process's
   * `rotate` or `shred` takes to be seen here (this process's own take effect at once): an
   * off-boarding must stop every process within a second, at the cost of one key read per active
   * tenant and second.
   * @default 1000
   */
  cacheTtlMs?: number;
}

/** A tenant's unwrapped data key. */
export interface DataKey {
  version: number;
  /** A non-extractable AES-GCM key. */
  key: CryptoKey;
}

interface CachedKey {
  key: CryptoKey;
  expires: number;
  /** The stored key it was unwrapped from: read again unchanged, it is not unwrapped again. */
  wrapped: string;
}

interface TenantCache {
  current?: { version: number; expires: number };
  versions: Map<number, CachedKey>;
  mask?: { key: Uint8Array; expires: number };
  /**
   * Texts lately decrypted, by token: a cache entry read again and again (a cached answer under
   * load) is decrypted once per key lifetime. Held with the tenant's keys, so it goes with them:
   * on rotation, shredding, `forget` and expiry alike.
   */
  texts?: Map<string, { text: string; expires: number }>;
}

/** Tokens remembered per tenant by `decryptText`, and the largest one remembered. */
const TEXTS_REMEMBERED = 64;
const TEXT_TOKEN_MAX = 256 * 1024;

/**
 * What `decryptDecoded` remembers, across tenants: how many values, and how many characters of
 * token they were decrypted from in all (a decoded value takes a few times its text in memory).
 */
const DECODED_REMEMBERED = 256;
const DECODED_CHARS_MAX = 64 * 2 ** 20;

/** A value `decryptDecoded` remembers: valid while the tenant's entry and its key are. */
interface Decoded {
  tenantId: string;
  /** The tenant's entry when it was decoded: rotation, shredding and `forget` replace it. */
  holder: TenantCache;
  version: number;
  decode: (text: string) => unknown;
  value: unknown;
  chars: number;
}

/** Called after a tenant's keys change in this process (see {@link KeyRing.onChange}). */
export type KeyChangeListener = (
  tenantId: string,
  change: "rotated" | "shredded",
) => Promise<void> | void;

const TOKEN_PREFIX = "v1";
const IV_BYTES = 12;

/**
 * Creates a random master key, base64: for development stacks and tests.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateMasterKey } from "./key_ring.ts";
 * assert.ok(atob(generateMasterKey()).length === 32);
 * ```
 */
export function generateMasterKey(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * Tenant keys and envelope encryption. Tokens look like `v1.<keyVersion>.<iv>.<ciphertext>`
 * (unpadded base64url), authenticated with the tenant id and key version, so a token only
 * decrypts for the tenant it was made for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateMasterKey, KeyRing } from "./key_ring.ts";
 * import { MemoryKeyStore } from "./key_store.ts";
 * const ring = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
 * const token = await ring.encrypt("acme", "secret");
 * assert.ok(new TextDecoder().decode(await ring.decrypt("acme", token)) === "secret");
 * ```
 */
export class KeyRing {
  readonly #store: KeyStore;
  readonly #ttlMs: number;
  readonly #master: Promise<CryptoKey>;
  readonly #cache = new Map<string, TenantCache>();
  readonly #creating = new Map<string, Promise<DataKey>>();
  readonly #loading = new Map<string, Promise<CryptoKey>>();
  readonly #listeners = new Set<KeyChangeListener>();
  readonly #forgetListeners = new Set<(tenantId: string | undefined) => void>();
  readonly #renewing = new Set<string>();
  /** `decryptDecoded`'s values by token, oldest use first. */
  readonly #decoded = new Map<string, Decoded>();
  #decodedChars = 0;

  /** Throws a {@link CryptoError} (`INVALID_MASTER_KEY`) unless the master key is 32 bytes. */
  constructor(options: KeyRingOptions) {
    let raw: Uint8Array<ArrayBuffer>;
    try {
      raw = fromBase64(options.masterKey);
    } catch (cause) {
      throw new CryptoError("INVALID_MASTER_KEY", "the master key is not base64", { cause });
    }
    if (raw.length !== 32) {
      throw new CryptoError(
        "INVALID_MASTER_KEY",
        `the master key must be 32 bytes, got ${raw.length}`,
      );
    }
    this.#store = options.store;
    this.#ttlMs = options.cacheTtlMs ?? 1000;
    this.#master = crypto.subtle.importKey("raw", raw, "AES-KW", false, ["wrapKey", "unwrapKey"]);
    this.#master.catch(() => {}); // surfaced on first use
  }

  /** The tenant's current data key, created (version 1) on first use. */
  dataKey(tenantId: string): Promise<DataKey> {
    const cached = this.#cache.get(tenantId);
    const now = Date.now();
    if (cached?.current && cached.current.expires > now) {
      const key = cached.versions.get(cached.current.version);
      if (key && key.expires > now) {
        if (cached.current.expires - now < this.#ttlMs / 2) {
          this.#renew(tenantId, cached, "current");
        }
        return Promise.resolve({ version: cached.current.version, key: key.key });
      }
    }
    let pending = this.#creating.get(tenantId);
    if (!pending) {
      pending = this.#loadCurrent(tenantId).finally(() => this.#creating.delete(tenantId));
      this.#creating.set(tenantId, pending);
    }
    return pending;
  }

  /** Encrypts with the tenant's current key; returns a token. */
  async encrypt(tenantId: string, plaintext: Uint8Array | string): Promise<string> {
    const { version, key } = await this.dataKey(tenantId);
    const bytes = typeof plaintext === "string" ? new TextEncoder().encode(plaintext) : plaintext;
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const ciphertext = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: aad(tenantId, version) },
      key,
      bytes as Uint8Array<ArrayBuffer>,
    );
    return `${TOKEN_PREFIX}.${version}.${toBase64Url(iv)}.${
      toBase64Url(new Uint8Array(ciphertext))
    }`;
  }

  /**
   * Decrypts a token made by {@link KeyRing.encrypt} for this tenant, with whichever key version
   * made it. Throws a {@link CryptoError}: `KEY_UNAVAILABLE` once the tenant's keys are shredded,
   * `MALFORMED_TOKEN`, or `DECRYPT_FAILED` when the token was altered or is another tenant's.
   */
  async decrypt(tenantId: string, token: string): Promise<Uint8Array> {
    const parts = token.split(".");
    const version = Number(parts[1]);
    let iv: Uint8Array<ArrayBuffer>;
    let ciphertext: Uint8Array<ArrayBuffer>;
    try {
      if (parts.length !== 4 || parts[0] !== TOKEN_PREFIX || !Number.isInteger(version)) {
        throw new TypeError("bad shape");
      }
      iv = fromBase64Url(parts[2]);
      ciphertext = fromBase64Url(parts[3]);
      if (iv.length !== IV_BYTES) throw new TypeError("bad iv");
    } catch (cause) {
      throw new CryptoError("MALFORMED_TOKEN", "not an encryption token of OmniSQL", { cause });
    }
    const key = await this.#keyVersion(tenantId, version);
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv, additionalData: aad(tenantId, version) },
        key,
        ciphertext,
      );
      return new Uint8Array(plain);
    } catch (cause) {
      throw new CryptoError(
        "DECRYPT_FAILED",
        `token does not authenticate for tenant ${tenantId}`,
        { cause },
      );
    }
  }

  /** {@link KeyRing.decrypt}, decoded as UTF-8. */
  async decryptText(tenantId: string, token: string): Promise<string> {
    const remembered = this.#cache.get(tenantId)?.texts?.get(token);
    if (remembered && remembered.expires > Date.now()) return remembered.text;
    const text = new TextDecoder().decode(await this.decrypt(tenantId, token));
    // Remembered no longer than the key that decrypted it stays in this process (none once
    // shredded or rotated meanwhile: the tenant's entry is gone).
    const entry = this.#cache.get(tenantId);
    const key = entry?.versions.get(Number(token.split(".", 2)[1]));
    if (entry && key && key.expires > Date.now() && token.length <= TEXT_TOKEN_MAX) {
      entry.texts ??= new Map();
      if (entry.texts.size >= TEXTS_REMEMBERED) {
        entry.texts.delete(entry.texts.keys().next().value!);
      }
      entry.texts.set(token, { text, expires: key.expires });
    }
    return text;
  }

  /**
   * {@link KeyRing.decryptText}, then `decode`d, and the value remembered by token while the key
   * that decrypted it is held by this process (renewed from the store as when decrypting): a
   * cache entry read on every query (a warm source) is decrypted and parsed again only when the
   * tenant's keys change. Rotation, shredding and `forget` drop it with the keys, as does a key
   * no longer in the store once its cached copy expires. The token is the exact stored text, so
   * a rewritten entry (a fresh IV) is another token; the store is still read for it every time.
   *
   * `decode` must be a pure function of the text, and the value it returns is shared by every
   * caller that reads the same token: it must be immutable (`deepFreeze` it). A value is
   * remembered for the same `decode` function only.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { deepFreeze } from "../deep_freeze.ts";
   * import { generateMasterKey, KeyRing } from "./key_ring.ts";
   * import { MemoryKeyStore } from "./key_store.ts";
   * const ring = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
   * const parse = (text: string) => deepFreeze(JSON.parse(text));
   * const token = await ring.encrypt("acme", JSON.stringify({ rows: [1] }));
   * const first = await ring.decryptDecoded("acme", token, parse);
   * assert.equal(await ring.decryptDecoded("acme", token, parse), first);
   * await ring.rotate("acme");
   * assert.notEqual(await ring.decryptDecoded("acme", token, parse), first);
   * ```
   */
  async decryptDecoded<T>(
    tenantId: string,
    token: string,
    decode: (text: string) => T,
  ): Promise<T> {
    // By the token alone (the store hands back the same string, whose hash V8 keeps: a key
    // made by concatenation would be hashed, all of it, on every read); the tenant is checked.
    const remembered = this.#decoded.get(token);
    if (remembered) {
      this.#dropDecoded(token);
      if (
        remembered.tenantId === tenantId && remembered.decode === decode && this.#holds(remembered)
      ) {
        this.#rememberDecoded(token, remembered); // most recently used again
        return remembered.value as T;
      }
    }
    const value = decode(await this.decryptText(tenantId, token));
    const holder = this.#cache.get(tenantId);
    const version = Number(token.split(".", 2)[1]);
    if (holder && token.length <= DECODED_CHARS_MAX / 4) {
      const entry = { tenantId, holder, version, decode, value, chars: token.length };
      if (this.#holds(entry)) this.#rememberDecoded(token, entry);
    }
    return value;
  }

  /**
   * Whether a remembered value's key is still held: the tenant's entry is the one it was decoded
   * under (not rotated, shredded or forgotten since) and its key version unexpired, renewed from
   * the store past half its life like a key in use.
   */
  #holds(entry: Decoded): boolean {
    if (this.#cache.get(entry.tenantId) !== entry.holder) return false;
    const key = entry.holder.versions.get(entry.version);
    const now = Date.now();
    if (!key || key.expires <= now) return false;
    if (key.expires - now < this.#ttlMs / 2) {
      this.#renew(entry.tenantId, entry.holder, entry.version);
    }
    return true;
  }

  #rememberDecoded(token: string, entry: Decoded): void {
    this.#dropDecoded(token); // a concurrent read may have remembered it meanwhile
    this.#decoded.set(token, entry);
    this.#decodedChars += entry.chars;
    for (const [oldest] of this.#decoded) {
      if (this.#decoded.size <= DECODED_REMEMBERED && this.#decodedChars <= DECODED_CHARS_MAX) {
        break;
      }
      this.#dropDecoded(oldest);
    }
  }

  #dropDecoded(token: string): void {
    const entry = this.#decoded.get(token);
    if (!entry) return;
    this.#decoded.delete(token);
    this.#decodedChars -= entry.chars;
  }

  /** Drops the values `decryptDecoded` remembers for a tenant (every tenant without one). */
  #forgetDecoded(tenantId?: string): void {
    for (const [token, entry] of this.#decoded) {
      if (tenantId === undefined || entry.tenantId === tenantId) this.#dropDecoded(token);
    }
    for (const listener of this.#forgetListeners) listener(tenantId);
  }

  /**
   * The tenant's mask key: 32 bytes for HMAC masks, derived from the tenant's first data key
   * version, so masks stay equal across rotations; shredding the tenant's keys retires it (a key
   * made afterwards derives another one). Derived as the AES-GCM encryption of a fixed label
   * under a fixed IV: a pseudorandom function of the key that reveals nothing about it (the IV is
   * never used with any other plaintext under this label, which tokens' random IVs cannot meet).
   */
  async maskKey(tenantId: string): Promise<Uint8Array> {
    const cached = this.#cache.get(tenantId)?.mask;
    if (cached && cached.expires > Date.now()) return cached.key;
    await this.dataKey(tenantId); // creates version 1 for a new tenant
    const key = await this.#keyVersion(tenantId, 1);
    const derived = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv: new Uint8Array(IV_BYTES), additionalData: aad(tenantId, 1) },
        key,
        new TextEncoder().encode("omnisql/mask-key/v1/" + "\0".repeat(12)),
      ),
    ).slice(0, 32);
    this.#tenantCache(tenantId).mask = { key: derived, expires: Date.now() + this.#ttlMs };
    return derived;
  }

  /**
   * Creates a new key version, which becomes current; older versions are retired but still
   * decrypt. Returns the new version.
   */
  async rotate(tenantId: string): Promise<number> {
    this.#cache.delete(tenantId);
    this.#forgetDecoded(tenantId);
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.#store.current(tenantId);
      const version = (current?.version ?? 0) + 1;
      if (await this.#store.insert(tenantId, { version, wrappedKey: await this.#newWrapped() })) {
        this.#cache.delete(tenantId); // a concurrent read may have memoised the old version
        await this.#changed(tenantId, "rotated");
        return version;
      }
    }
    throw new CryptoError("KEY_UNAVAILABLE", `could not rotate the key of tenant ${tenantId}`);
  }

  /**
   * Deletes every key of the tenant (crypto-shredding): everything encrypted for it becomes
   * unreadable. Returns how many key versions were deleted.
   */
  async shred(tenantId: string): Promise<number> {
    this.#cache.delete(tenantId);
    this.#forgetDecoded(tenantId);
    const n = await this.#store.deleteAll(tenantId);
    this.#cache.delete(tenantId);
    await this.#changed(tenantId, "shredded");
    return n;
  }

  /**
   * Drops what this process holds of the tenant's keys (every tenant's without one): the next
   * use reads them from the store. For notices of another process's rotation or shred.
   */
  forget(tenantId?: string): void {
    if (tenantId === undefined) this.#cache.clear();
    else this.#cache.delete(tenantId);
    this.#forgetDecoded(tenantId);
  }

  /**
   * Calls `listener` after each rotation and shred made through this key ring, before the call
   * returns (so that a notice is out before a CLI exits). Returns a function that removes it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { generateMasterKey, KeyRing } from "./key_ring.ts";
   * import { MemoryKeyStore } from "./key_store.ts";
   * const ring = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
   * const changes: string[] = [];
   * ring.onChange((tenant, change) => void changes.push(`${tenant} ${change}`));
   * await ring.rotate("acme");
   * await ring.shred("acme");
   * assert.deepEqual(changes, ["acme rotated", "acme shredded"]);
   * ```
   */
  onChange(listener: KeyChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Calls `listener` each time this process drops what it holds of a tenant's keys (rotation,
   * shredding, {@link forget}; `undefined`: every tenant's), so that what it remembers in the
   * clear for that tenant goes with them. Returns a function that removes it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { generateMasterKey, KeyRing } from "./key_ring.ts";
   * import { MemoryKeyStore } from "./key_store.ts";
   * const ring = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
   * const forgotten: (string | undefined)[] = [];
   * ring.onForget((tenant) => void forgotten.push(tenant));
   * await ring.shred("acme");
   * ring.forget();
   * assert.deepEqual(forgotten, ["acme", undefined]);
   * ```
   */
  onForget(listener: (tenantId: string | undefined) => void): () => void {
    this.#forgetListeners.add(listener);
    return () => this.#forgetListeners.delete(listener);
  }

  async #changed(tenantId: string, change: "rotated" | "shredded") {
    await Promise.allSettled([...this.#listeners].map(async (l) => await l(tenantId, change)));
  }

  async #loadCurrent(tenantId: string): Promise<DataKey> {
    let stored = await this.#store.current(tenantId);
    if (!stored) {
      const wrappedKey = await this.#newWrapped();
      await this.#store.insert(tenantId, { version: 1, wrappedKey });
      stored = await this.#store.current(tenantId);
      if (!stored) {
        throw new CryptoError("KEY_UNAVAILABLE", `no key for tenant ${tenantId}`);
      }
    }
    const entry = this.#tenantCache(tenantId);
    const key = await this.#unwrapStored(entry, stored);
    const expires = Date.now() + this.#ttlMs;
    entry.versions.set(stored.version, { key, expires, wrapped: stored.wrappedKey });
    entry.current = { version: stored.version, expires };
    return { version: stored.version, key };
  }

  async #keyVersion(tenantId: string, version: number): Promise<CryptoKey> {
    const entry = this.#cache.get(tenantId);
    const cached = entry?.versions.get(version);
    const now = Date.now();
    if (cached && cached.expires > now) {
      if (cached.expires - now < this.#ttlMs / 2) this.#renew(tenantId, entry!, version);
      return cached.key;
    }
    // The current key being loaded is most likely this one: one read of the store, not two.
    const current = this.#creating.get(tenantId);
    if (current) {
      const loaded = await current.catch(() => undefined);
      if (loaded?.version === version) return loaded.key;
    }
    // Concurrent decryptions (a fetch's pages) wait for one read of a version, not one each.
    const job = `${tenantId}\u0000${version}`;
    let pending = this.#loading.get(job);
    if (!pending) {
      pending = this.#loadVersion(tenantId, version).finally(() => this.#loading.delete(job));
      this.#loading.set(job, pending);
    }
    return await pending;
  }

  async #loadVersion(tenantId: string, version: number): Promise<CryptoKey> {
    const stored = await this.#store.get(tenantId, version);
    if (!stored) {
      throw new CryptoError(
        "KEY_UNAVAILABLE",
        `key version ${version} of tenant ${tenantId} does not exist (shredded?)`,
      );
    }
    const entry = this.#tenantCache(tenantId);
    const key = await this.#unwrapStored(entry, stored);
    entry.versions.set(version, {
      key,
      expires: Date.now() + this.#ttlMs,
      wrapped: stored.wrappedKey,
    });
    return key;
  }

  /**
   * Reads a key again while its cached copy is past half its life, so that a busy process never
   * waits for the key store (which may be busy with a write). The renewed copy's life counts from
   * when the read began, and it is kept only if the tenant's keys were not dropped meanwhile
   * (rotation, shred, `forget`): no key outlives what the store said by more than the TTL.
   */
  #renew(tenantId: string, entry: TenantCache, which: number | "current"): void {
    const job = `${tenantId}\u0000${which}`;
    if (this.#renewing.has(job)) return;
    this.#renewing.add(job);
    const started = Date.now();
    (async () => {
      const stored = which === "current"
        ? await this.#store.current(tenantId)
        : await this.#store.get(tenantId, which);
      if (!stored) return; // gone: the cached copy expires, and the next use says so
      const key = await this.#unwrapStored(entry, stored);
      if (this.#cache.get(tenantId) !== entry) return;
      const expires = started + this.#ttlMs;
      entry.versions.set(stored.version, { key, expires, wrapped: stored.wrappedKey });
      if (which === "current") entry.current = { version: stored.version, expires };
    })().catch(() => {}).finally(() => this.#renewing.delete(job));
  }

  #tenantCache(tenantId: string): TenantCache {
    let entry = this.#cache.get(tenantId);
    if (!entry) this.#cache.set(tenantId, entry = { versions: new Map() });
    return entry;
  }

  async #newWrapped(): Promise<string> {
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, [
      "encrypt",
      "decrypt",
    ]);
    const wrapped = await crypto.subtle.wrapKey("raw", key, await this.#master, "AES-KW");
    return toBase64(new Uint8Array(wrapped));
  }

  /** The key `stored` wraps: the one the tenant's entry holds, when it was unwrapped from it. */
  async #unwrapStored(entry: TenantCache, stored: WrappedKey): Promise<CryptoKey> {
    const held = entry.versions.get(stored.version);
    if (held && held.wrapped === stored.wrappedKey) return held.key;
    return await this.#unwrap(stored.wrappedKey);
  }

  async #unwrap(wrappedKey: string): Promise<CryptoKey> {
    try {
      return await crypto.subtle.unwrapKey(
        "raw",
        fromBase64(wrappedKey),
        await this.#master,
        "AES-KW",
        "AES-GCM",
        false,
        ["encrypt", "decrypt"],
      );
    } catch (cause) {
      throw new CryptoError(
        "KEY_UNAVAILABLE",
        "a tenant key does not unwrap with this master key",
        { cause },
      );
    }
  }
}

function aad(tenantId: string, version: number): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`omnisql/v1/${tenantId}/${version}`);
}
