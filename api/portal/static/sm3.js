/* SM3 (GB/T 32905-2016) in plain JavaScript, for hashing files in the browser.
 *
 * The file never leaves the verifier's computer: only its 32-byte digest is sent to the node.
 * Incremental: new SM3().update(bytes)...digest(); or SM3.hex(bytes | string).
 * Tested against the node's SM3 (OpenSSL via hashlib) in tests/test_portal.py.
 */
(function (root) {
  "use strict";

  var IV = [
    0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600,
    0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e,
  ];

  // T_j <<< (j mod 32), precomputed
  var TJ = new Int32Array(64);
  (function () {
    for (var j = 0; j < 64; j++) {
      var t = j < 16 ? 0x79cc4519 : 0x7a879d8a;
      var n = j % 32;
      TJ[j] = n === 0 ? t : (t << n) | (t >>> (32 - n));
    }
  })();

  function rotl(x, n) {
    return (x << n) | (x >>> (32 - n));
  }

  function SM3() {
    this.v = new Int32Array(IV);
    this.buf = new Uint8Array(64);
    this.bufLen = 0;
    this.total = 0; // bytes hashed so far
    this.w = new Int32Array(68);
    this.w1 = new Int32Array(64);
  }

  SM3.prototype._compress = function (block, off) {
    var w = this.w, w1 = this.w1, v = this.v, j;
    for (j = 0; j < 16; j++) {
      var o = off + 4 * j;
      w[j] = (block[o] << 24) | (block[o + 1] << 16) | (block[o + 2] << 8) | block[o + 3];
    }
    for (j = 16; j < 68; j++) {
      var x = w[j - 16] ^ w[j - 9] ^ rotl(w[j - 3], 15);
      w[j] = (x ^ rotl(x, 15) ^ rotl(x, 23)) ^ rotl(w[j - 13], 7) ^ w[j - 6];
    }
    for (j = 0; j < 64; j++) w1[j] = w[j] ^ w[j + 4];
    var A = v[0], B = v[1], C = v[2], D = v[3], E = v[4], F = v[5], G = v[6], H = v[7];
    for (j = 0; j < 64; j++) {
      var a12 = rotl(A, 12);
      var ss1 = rotl((a12 + E + TJ[j]) | 0, 7);
      var ss2 = ss1 ^ a12;
      var ff, gg;
      if (j < 16) {
        ff = A ^ B ^ C;
        gg = E ^ F ^ G;
      } else {
        ff = (A & B) | (A & C) | (B & C);
        gg = (E & F) | (~E & G);
      }
      var tt1 = (ff + D + ss2 + w1[j]) | 0;
      var tt2 = (gg + H + ss1 + w[j]) | 0;
      D = C;
      C = rotl(B, 9);
      B = A;
      A = tt1;
      H = G;
      G = rotl(F, 19);
      F = E;
      E = tt2 ^ rotl(tt2, 9) ^ rotl(tt2, 17);
    }
    v[0] ^= A; v[1] ^= B; v[2] ^= C; v[3] ^= D;
    v[4] ^= E; v[5] ^= F; v[6] ^= G; v[7] ^= H;
  };

  SM3.prototype.update = function (data) {
    if (typeof data === "string") data = new TextEncoder().encode(data);
    else if (data instanceof ArrayBuffer) data = new Uint8Array(data);
    var i = 0, n = data.length;
    this.total += n;
    if (this.bufLen > 0) {
      while (i < n && this.bufLen < 64) this.buf[this.bufLen++] = data[i++];
      if (this.bufLen < 64) return this;
      this._compress(this.buf, 0);
      this.bufLen = 0;
    }
    for (; i + 64 <= n; i += 64) this._compress(data, i);
    while (i < n) this.buf[this.bufLen++] = data[i++];
    return this;
  };

  SM3.prototype.digest = function () {
    var bytes = this.total;
    // 0x80, zeros to 56 mod 64, then the length in bits as 64-bit big-endian
    var pad = new Uint8Array(this.bufLen < 56 ? 64 : 128);
    pad.set(this.buf.subarray(0, this.bufLen));
    pad[this.bufLen] = 0x80;
    var hi = Math.floor(bytes / 0x20000000); // bits >>> 32
    var lo = (bytes % 0x20000000) * 8;
    var end = pad.length;
    pad[end - 8] = hi >>> 24; pad[end - 7] = hi >>> 16; pad[end - 6] = hi >>> 8; pad[end - 5] = hi;
    pad[end - 4] = lo >>> 24; pad[end - 3] = lo >>> 16; pad[end - 2] = lo >>> 8; pad[end - 1] = lo;
    for (var off = 0; off < pad.length; off += 64) this._compress(pad, off);
    var out = new Uint8Array(32);
    for (var j = 0; j < 8; j++) {
      out[4 * j] = this.v[j] >>> 24;
      out[4 * j + 1] = this.v[j] >>> 16;
      out[4 * j + 2] = this.v[j] >>> 8;
      out[4 * j + 3] = this.v[j];
    }
    return out;
  };

  function toHex(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return s;
  }

  function fromHex(hex) {
    var out = new Uint8Array(hex.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
    return out;
  }

  SM3.digest = function (data) {
    return new SM3().update(data).digest();
  };
  SM3.hex = function (data) {
    return toHex(SM3.digest(data));
  };
  SM3.toHex = toHex;
  SM3.fromHex = fromHex;

  /* Hash a File or Blob in slices, reporting progress (0..1); resolves to the hex digest. */
  SM3.hashBlob = function (blob, onProgress) {
    var h = new SM3(), chunk = 4 * 1024 * 1024, offset = 0;
    function next() {
      if (offset >= blob.size) {
        if (onProgress) onProgress(1);
        return Promise.resolve(toHex(h.digest()));
      }
      var part = blob.slice(offset, offset + chunk);
      return part.arrayBuffer().then(function (buf) {
        h.update(new Uint8Array(buf));
        offset += buf.byteLength;
        if (onProgress) onProgress(offset / blob.size);
        return next();
      });
    }
    return next();
  };

  root.SM3 = SM3;
})(typeof window !== "undefined" ? window : this);
