/* What the browser checks by itself, with its own SM3 (sm3.js), without trusting the node:
 * RFC 8785 canonical JSON, RFC 9162 Merkle audit paths, and the receipt steps that need no
 * SM2 (1: tx_id = H(C(envelope)), 3: inclusion proof, 4: block hash) and the hash chain of
 * step 5 (validator_history). SM2 signatures (steps 2, 6 and the certificates of step 5) are
 * checked by the node (POST /v1/verify/receipt) or offline (ledger verify). */
(function (root) {
  "use strict";
  var SM3 = root.SM3;

  /* RFC 8785 (JCS) for the values the ledger signs: objects, arrays, strings, integers,
   * booleans, null. Keys sort by UTF-16 code units, which is what Array.prototype.sort does;
   * strings serialise as JSON.stringify does (RFC 8785 section 3.2.2.2). */
  function jcs(v) {
    if (v === null || typeof v === "boolean") return JSON.stringify(v);
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v)) throw new Error("not canonical: " + v);
      return String(v);
    }
    if (typeof v === "string") return JSON.stringify(v);
    if (Array.isArray(v)) return "[" + v.map(jcs).join(",") + "]";
    if (typeof v === "object") {
      var keys = Object.keys(v).sort();
      return "{" + keys.map(function (k) { return JSON.stringify(k) + ":" + jcs(v[k]); }).join(",") + "}";
    }
    throw new Error("not canonical: " + typeof v);
  }

  function utf8(text) {
    return new TextEncoder().encode(text);
  }

  function concat(a, b, c) {
    var out = new Uint8Array(a.length + b.length + (c ? c.length : 0));
    out.set(a, 0);
    out.set(b, a.length);
    if (c) out.set(c, a.length + b.length);
    return out;
  }

  function leafHash(data) {
    return SM3.digest(concat(new Uint8Array([0]), data));
  }

  function nodeHash(left, right) {
    return SM3.digest(concat(new Uint8Array([1]), left, right));
  }

  /* RFC 9162 2.1.3.2: the root an audit path leads to (throws on a malformed path). */
  function rootFromPath(index, size, leaf, path) {
    if (!(index >= 0 && index < size)) throw new Error("index outside the tree");
    var fn = index, sn = size - 1, r = leaf;
    for (var i = 0; i < path.length; i++) {
      var p = SM3.fromHex(path[i]);
      if (sn === 0) throw new Error("path too long");
      if (fn % 2 === 1 || fn === sn) {
        r = nodeHash(p, r);
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      } else {
        r = nodeHash(r, p);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error("path too short");
    return SM3.toHex(r);
  }

  /* Steps 1, 3 and 4 of spec section 6, computed here: {1: bool, 3: bool, 4: bool}. */
  function checkReceipt(receipt) {
    var out = {};
    try {
      out[1] = SM3.hex(utf8(jcs(receipt.transaction.envelope))) === receipt.tx_id;
    } catch (e) {
      out[1] = false;
    }
    try {
      var leaf = leafHash(utf8(jcs(receipt.transaction)));
      out[3] =
        rootFromPath(receipt.index, receipt.header.tx_count, leaf, receipt.inclusion_proof) ===
        receipt.header.tx_root;
    } catch (e) {
      out[3] = false;
    }
    try {
      out[4] =
        SM3.hex(utf8(jcs(receipt.header))) === receipt.commit.block_hash &&
        receipt.commit.height === receipt.header.height;
    } catch (e) {
      out[4] = false;
    }
    return out;
  }

  function sm3Of(value) {
    return SM3.hex(utf8(jcs(value)));
  }

  /* Step 5 of spec section 6 without SM2: from the genesis set, each entry's header is of the
   * chain and names the trusted set (validators_hash), its certificate names that header
   * (height, block_hash) and next_validators is the set the header names next; that set
   * becomes the trusted one. {ok: bool, entry: index of the failing entry or null}. */
  function checkHistory(receipt, genesis) {
    var history = receipt && receipt.validator_history;
    if (!Array.isArray(history)) return { ok: false, entry: null };
    var trusted = genesis.validators;
    for (var i = 0; i < history.length; i++) {
      try {
        var e = history[i], h = e.header, c = e.commit, v = e.next_validators;
        var ok =
          Object.keys(e).sort().join(",") === "commit,header,next_validators" &&
          h.chain_id === genesis.chain_id &&
          h.validators_hash === sm3Of(trusted) &&
          c.height === h.height &&
          c.block_hash === sm3Of(h) &&
          h.next_validators_hash === sm3Of(v);
        if (!ok) return { ok: false, entry: i };
        trusted = v;
      } catch (err) {
        return { ok: false, entry: i };
      }
    }
    return { ok: true, entry: null };
  }

  /* An evidence file: its path leads to the files root signed in the deposit's payload. */
  function checkFileInDeposit(fileSm3, index, path, receipt) {
    try {
      var payload = receipt.transaction.envelope.payload;
      var leaf = leafHash(SM3.fromHex(fileSm3));
      return rootFromPath(index, payload.file_count, leaf, path) === payload.files_root;
    } catch (e) {
      return false;
    }
  }

  root.Ledger = {
    jcs: jcs,
    rootFromPath: rootFromPath,
    leafHash: leafHash,
    checkReceipt: checkReceipt,
    checkHistory: checkHistory,
    checkFileInDeposit: checkFileInDeposit,
  };
})(typeof window !== "undefined" ? window : this);
