# Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit.
# Godot 4 variant of unity_bridge/godot/templates/nacl.gd.in: edit that, then regenerate.
# The cryptography of ZeroMQ's CURVE mechanism (RFC 26), in plain GDScript: neither Godot 3
# nor Godot 4 has X25519 or XSalsa20-Poly1305 built in. NaCl's crypto_box, written from
# the definitions (RFC 7748 for X25519, D. J. Bernstein's Salsa20 and XSalsa20 papers,
# RFC 8439's description of Poly1305), checked against libsodium by the test suite
# (tests/unity_bridge/test_godot_curve.py, known answers computed with PyNaCl and pyzmq):
#
# - scalarmult(n, p): X25519, a Montgomery ladder on 16-limb field elements (the limb
#   arithmetic is generated, see protocol/codegen/gdscript.py); also as a job that runs in
#   slices (scalarmult_job / job_run), so that a handshake does not stall a frame;
# - hsalsa20 / box_beforenm: crypto_box's shared key, HSalsa20 of the X25519 result;
# - secretbox / secretbox_open: XSalsa20 encryption with a Poly1305 tag in front (NaCl's
#   crypto_secretbox, the "afternm" half of crypto_box); the "_sub" variants take the
#   HSalsa20 subkey of the nonce's first 16 bytes ready-made, which a CURVE connection can
#   reuse for every message (its nonces share that prefix);
# - z85_encode / z85_decode (ZeroMQ RFC 32), random_bytes (Godot's Crypto, mbedTLS's CSPRNG).
#
# Byte strings are PackedByteArray; keys and nonces are checked for length by the callers.
# GDScript gives no constant-time guarantee: the code avoids secret-dependent branches and
# table lookups (the ladder swaps by masks, the tag is compared in full), but the
# interpreter's own timing is not controlled.
extends RefCounted

const MASK32 = 0xffffffff
# "expand 32-byte k" as four little-endian words: Salsa20's constants.
const SIGMA0 = 0x61707865
const SIGMA1 = 0x3320646e
const SIGMA2 = 0x79622d32
const SIGMA3 = 0x6b206574
const Z85_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
const TAG_BYTES = 16
const ZERO16 = [0, 0, 0, 0]  # 16 zero bytes as words: HSalsa20's input for box_beforenm


# -- bytes ------------------------------------------------------------------------------


static func zeros(n: int) -> PackedByteArray:
	var out := PackedByteArray()
	out.resize(n)
	for i in range(n):
		out[i] = 0
	return out


static func random_bytes(n: int) -> PackedByteArray:
	var crypto := Crypto.new()
	return crypto.generate_random_bytes(n)


static func from_hex(text: String) -> PackedByteArray:
	var out := PackedByteArray()
	for i in range(0, text.length() - 1, 2):
		out.append(("0x" + text.substr(i, 2)).hex_to_int())
	return out


static func to_hex(data: PackedByteArray) -> String:
	return data.hex_encode()


# 32-bit little-endian words of 16 or 32 bytes (keys, nonces).
static func words_le(data: PackedByteArray, from: int, count: int) -> Array:
	var out := []
	for w in range(count):
		var i := from + 4 * w
		out.append(int(data[i]) | (int(data[i + 1]) << 8) | (int(data[i + 2]) << 16) | (int(data[i + 3]) << 24))
	return out


static func words_to_bytes(words: Array) -> PackedByteArray:
	var out := PackedByteArray()
	out.resize(4 * words.size())
	for w in range(words.size()):
		var v: int = words[w]
		out[4 * w] = v & 0xff
		out[4 * w + 1] = (v >> 8) & 0xff
		out[4 * w + 2] = (v >> 16) & 0xff
		out[4 * w + 3] = (v >> 24) & 0xff
	return out


# 8-byte big-endian counter (CURVE's short nonces).
static func u64_be(value: int) -> PackedByteArray:
	var out := PackedByteArray()
	out.resize(8)
	for i in range(8):
		out[i] = (value >> (8 * (7 - i))) & 0xff
	return out


static func read_u64_be(data: PackedByteArray, from: int) -> int:
	var value := 0
	for i in range(8):
		value = (value << 8) | int(data[from + i])
	return value


# -- Z85 (ZeroMQ RFC 32) ------------------------------------------------------------------


# The bytes of Z85 text, or null when it is not Z85 (length not a multiple of 5, a
# character outside the alphabet, or a group over 2^32 - 1).
static func z85_decode(text: String):
	if text.length() % 5 != 0:
		return null
	var out := PackedByteArray()
	for g in range(0, text.length(), 5):
		var value := 0
		for k in range(5):
			var digit := Z85_CHARS.find(text[g + k])
			if digit < 0:
				return null
			value = value * 85 + digit
		if value > MASK32:
			return null
		out.append((value >> 24) & 0xff)
		out.append((value >> 16) & 0xff)
		out.append((value >> 8) & 0xff)
		out.append(value & 0xff)
	return out


static func z85_encode(data: PackedByteArray) -> String:
	var text := ""
	for g in range(0, data.size() - data.size() % 4, 4):
		var value := (int(data[g]) << 24) | (int(data[g + 1]) << 16) | (int(data[g + 2]) << 8) | int(data[g + 3])
		var chunk := ""
		for k in range(5):
			chunk = Z85_CHARS[value % 85] + chunk
			value /= 85
		text += chunk
	return text


# A 32-byte key from its 40 Z85 characters, or null.
static func key_from_z85(text: String):
	if text.length() != 40:
		return null
	return z85_decode(text)


# -- X25519 (RFC 7748) ----------------------------------------------------------------------
#
# Field elements modulo p = 2^255 - 19: Arrays of 16 ints, limb i worth 2^(16 i).

# (generated by protocol/codegen/gdscript.py: field_arithmetic)

static func fe_add(a: Array, b: Array) -> Array:
	return [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4], a[5] + b[5], a[6] + b[6], a[7] + b[7], a[8] + b[8], a[9] + b[9], a[10] + b[10], a[11] + b[11], a[12] + b[12], a[13] + b[13], a[14] + b[14], a[15] + b[15]]


static func fe_sub(a: Array, b: Array) -> Array:
	return [a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3], a[4] - b[4], a[5] - b[5], a[6] - b[6], a[7] - b[7], a[8] - b[8], a[9] - b[9], a[10] - b[10], a[11] - b[11], a[12] - b[12], a[13] - b[13], a[14] - b[14], a[15] - b[15]]


static func fe_mul(a: Array, b: Array) -> Array:
	var a0: int = a[0]
	var a1: int = a[1]
	var a2: int = a[2]
	var a3: int = a[3]
	var a4: int = a[4]
	var a5: int = a[5]
	var a6: int = a[6]
	var a7: int = a[7]
	var a8: int = a[8]
	var a9: int = a[9]
	var a10: int = a[10]
	var a11: int = a[11]
	var a12: int = a[12]
	var a13: int = a[13]
	var a14: int = a[14]
	var a15: int = a[15]
	var b0: int = b[0]
	var b1: int = b[1]
	var b2: int = b[2]
	var b3: int = b[3]
	var b4: int = b[4]
	var b5: int = b[5]
	var b6: int = b[6]
	var b7: int = b[7]
	var b8: int = b[8]
	var b9: int = b[9]
	var b10: int = b[10]
	var b11: int = b[11]
	var b12: int = b[12]
	var b13: int = b[13]
	var b14: int = b[14]
	var b15: int = b[15]
	var t0: int = a0 * b0
	var t1: int = a0 * b1 + a1 * b0
	var t2: int = a0 * b2 + a1 * b1 + a2 * b0
	var t3: int = a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0
	var t4: int = a0 * b4 + a1 * b3 + a2 * b2 + a3 * b1 + a4 * b0
	var t5: int = a0 * b5 + a1 * b4 + a2 * b3 + a3 * b2 + a4 * b1 + a5 * b0
	var t6: int = a0 * b6 + a1 * b5 + a2 * b4 + a3 * b3 + a4 * b2 + a5 * b1 + a6 * b0
	var t7: int = a0 * b7 + a1 * b6 + a2 * b5 + a3 * b4 + a4 * b3 + a5 * b2 + a6 * b1 + a7 * b0
	var t8: int = a0 * b8 + a1 * b7 + a2 * b6 + a3 * b5 + a4 * b4 + a5 * b3 + a6 * b2 + a7 * b1 + a8 * b0
	var t9: int = a0 * b9 + a1 * b8 + a2 * b7 + a3 * b6 + a4 * b5 + a5 * b4 + a6 * b3 + a7 * b2 + a8 * b1 + a9 * b0
	var t10: int = a0 * b10 + a1 * b9 + a2 * b8 + a3 * b7 + a4 * b6 + a5 * b5 + a6 * b4 + a7 * b3 + a8 * b2 + a9 * b1 + a10 * b0
	var t11: int = a0 * b11 + a1 * b10 + a2 * b9 + a3 * b8 + a4 * b7 + a5 * b6 + a6 * b5 + a7 * b4 + a8 * b3 + a9 * b2 + a10 * b1 + a11 * b0
	var t12: int = a0 * b12 + a1 * b11 + a2 * b10 + a3 * b9 + a4 * b8 + a5 * b7 + a6 * b6 + a7 * b5 + a8 * b4 + a9 * b3 + a10 * b2 + a11 * b1 + a12 * b0
	var t13: int = a0 * b13 + a1 * b12 + a2 * b11 + a3 * b10 + a4 * b9 + a5 * b8 + a6 * b7 + a7 * b6 + a8 * b5 + a9 * b4 + a10 * b3 + a11 * b2 + a12 * b1 + a13 * b0
	var t14: int = a0 * b14 + a1 * b13 + a2 * b12 + a3 * b11 + a4 * b10 + a5 * b9 + a6 * b8 + a7 * b7 + a8 * b6 + a9 * b5 + a10 * b4 + a11 * b3 + a12 * b2 + a13 * b1 + a14 * b0
	var t15: int = a0 * b15 + a1 * b14 + a2 * b13 + a3 * b12 + a4 * b11 + a5 * b10 + a6 * b9 + a7 * b8 + a8 * b7 + a9 * b6 + a10 * b5 + a11 * b4 + a12 * b3 + a13 * b2 + a14 * b1 + a15 * b0
	var t16: int = a1 * b15 + a2 * b14 + a3 * b13 + a4 * b12 + a5 * b11 + a6 * b10 + a7 * b9 + a8 * b8 + a9 * b7 + a10 * b6 + a11 * b5 + a12 * b4 + a13 * b3 + a14 * b2 + a15 * b1
	var t17: int = a2 * b15 + a3 * b14 + a4 * b13 + a5 * b12 + a6 * b11 + a7 * b10 + a8 * b9 + a9 * b8 + a10 * b7 + a11 * b6 + a12 * b5 + a13 * b4 + a14 * b3 + a15 * b2
	var t18: int = a3 * b15 + a4 * b14 + a5 * b13 + a6 * b12 + a7 * b11 + a8 * b10 + a9 * b9 + a10 * b8 + a11 * b7 + a12 * b6 + a13 * b5 + a14 * b4 + a15 * b3
	var t19: int = a4 * b15 + a5 * b14 + a6 * b13 + a7 * b12 + a8 * b11 + a9 * b10 + a10 * b9 + a11 * b8 + a12 * b7 + a13 * b6 + a14 * b5 + a15 * b4
	var t20: int = a5 * b15 + a6 * b14 + a7 * b13 + a8 * b12 + a9 * b11 + a10 * b10 + a11 * b9 + a12 * b8 + a13 * b7 + a14 * b6 + a15 * b5
	var t21: int = a6 * b15 + a7 * b14 + a8 * b13 + a9 * b12 + a10 * b11 + a11 * b10 + a12 * b9 + a13 * b8 + a14 * b7 + a15 * b6
	var t22: int = a7 * b15 + a8 * b14 + a9 * b13 + a10 * b12 + a11 * b11 + a12 * b10 + a13 * b9 + a14 * b8 + a15 * b7
	var t23: int = a8 * b15 + a9 * b14 + a10 * b13 + a11 * b12 + a12 * b11 + a13 * b10 + a14 * b9 + a15 * b8
	var t24: int = a9 * b15 + a10 * b14 + a11 * b13 + a12 * b12 + a13 * b11 + a14 * b10 + a15 * b9
	var t25: int = a10 * b15 + a11 * b14 + a12 * b13 + a13 * b12 + a14 * b11 + a15 * b10
	var t26: int = a11 * b15 + a12 * b14 + a13 * b13 + a14 * b12 + a15 * b11
	var t27: int = a12 * b15 + a13 * b14 + a14 * b13 + a15 * b12
	var t28: int = a13 * b15 + a14 * b14 + a15 * b13
	var t29: int = a14 * b15 + a15 * b14
	var t30: int = a15 * b15
	t0 += 38 * t16
	t1 += 38 * t17
	t2 += 38 * t18
	t3 += 38 * t19
	t4 += 38 * t20
	t5 += 38 * t21
	t6 += 38 * t22
	t7 += 38 * t23
	t8 += 38 * t24
	t9 += 38 * t25
	t10 += 38 * t26
	t11 += 38 * t27
	t12 += 38 * t28
	t13 += 38 * t29
	t14 += 38 * t30
	t1 += t0 >> 16
	t0 &= 0xffff
	t2 += t1 >> 16
	t1 &= 0xffff
	t3 += t2 >> 16
	t2 &= 0xffff
	t4 += t3 >> 16
	t3 &= 0xffff
	t5 += t4 >> 16
	t4 &= 0xffff
	t6 += t5 >> 16
	t5 &= 0xffff
	t7 += t6 >> 16
	t6 &= 0xffff
	t8 += t7 >> 16
	t7 &= 0xffff
	t9 += t8 >> 16
	t8 &= 0xffff
	t10 += t9 >> 16
	t9 &= 0xffff
	t11 += t10 >> 16
	t10 &= 0xffff
	t12 += t11 >> 16
	t11 &= 0xffff
	t13 += t12 >> 16
	t12 &= 0xffff
	t14 += t13 >> 16
	t13 &= 0xffff
	t15 += t14 >> 16
	t14 &= 0xffff
	t0 += 38 * (t15 >> 16)
	t15 &= 0xffff
	t1 += t0 >> 16
	t0 &= 0xffff
	return [t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15]


static func fe_sqr(a: Array) -> Array:
	var a0: int = a[0]
	var a1: int = a[1]
	var a2: int = a[2]
	var a3: int = a[3]
	var a4: int = a[4]
	var a5: int = a[5]
	var a6: int = a[6]
	var a7: int = a[7]
	var a8: int = a[8]
	var a9: int = a[9]
	var a10: int = a[10]
	var a11: int = a[11]
	var a12: int = a[12]
	var a13: int = a[13]
	var a14: int = a[14]
	var a15: int = a[15]
	var d0: int = a0 << 1
	var d1: int = a1 << 1
	var d2: int = a2 << 1
	var d3: int = a3 << 1
	var d4: int = a4 << 1
	var d5: int = a5 << 1
	var d6: int = a6 << 1
	var d7: int = a7 << 1
	var d8: int = a8 << 1
	var d9: int = a9 << 1
	var d10: int = a10 << 1
	var d11: int = a11 << 1
	var d12: int = a12 << 1
	var d13: int = a13 << 1
	var d14: int = a14 << 1
	var d15: int = a15 << 1
	var t0: int = a0 * a0
	var t1: int = d0 * a1
	var t2: int = d0 * a2 + a1 * a1
	var t3: int = d0 * a3 + d1 * a2
	var t4: int = d0 * a4 + d1 * a3 + a2 * a2
	var t5: int = d0 * a5 + d1 * a4 + d2 * a3
	var t6: int = d0 * a6 + d1 * a5 + d2 * a4 + a3 * a3
	var t7: int = d0 * a7 + d1 * a6 + d2 * a5 + d3 * a4
	var t8: int = d0 * a8 + d1 * a7 + d2 * a6 + d3 * a5 + a4 * a4
	var t9: int = d0 * a9 + d1 * a8 + d2 * a7 + d3 * a6 + d4 * a5
	var t10: int = d0 * a10 + d1 * a9 + d2 * a8 + d3 * a7 + d4 * a6 + a5 * a5
	var t11: int = d0 * a11 + d1 * a10 + d2 * a9 + d3 * a8 + d4 * a7 + d5 * a6
	var t12: int = d0 * a12 + d1 * a11 + d2 * a10 + d3 * a9 + d4 * a8 + d5 * a7 + a6 * a6
	var t13: int = d0 * a13 + d1 * a12 + d2 * a11 + d3 * a10 + d4 * a9 + d5 * a8 + d6 * a7
	var t14: int = d0 * a14 + d1 * a13 + d2 * a12 + d3 * a11 + d4 * a10 + d5 * a9 + d6 * a8 + a7 * a7
	var t15: int = d0 * a15 + d1 * a14 + d2 * a13 + d3 * a12 + d4 * a11 + d5 * a10 + d6 * a9 + d7 * a8
	var t16: int = d1 * a15 + d2 * a14 + d3 * a13 + d4 * a12 + d5 * a11 + d6 * a10 + d7 * a9 + a8 * a8
	var t17: int = d2 * a15 + d3 * a14 + d4 * a13 + d5 * a12 + d6 * a11 + d7 * a10 + d8 * a9
	var t18: int = d3 * a15 + d4 * a14 + d5 * a13 + d6 * a12 + d7 * a11 + d8 * a10 + a9 * a9
	var t19: int = d4 * a15 + d5 * a14 + d6 * a13 + d7 * a12 + d8 * a11 + d9 * a10
	var t20: int = d5 * a15 + d6 * a14 + d7 * a13 + d8 * a12 + d9 * a11 + a10 * a10
	var t21: int = d6 * a15 + d7 * a14 + d8 * a13 + d9 * a12 + d10 * a11
	var t22: int = d7 * a15 + d8 * a14 + d9 * a13 + d10 * a12 + a11 * a11
	var t23: int = d8 * a15 + d9 * a14 + d10 * a13 + d11 * a12
	var t24: int = d9 * a15 + d10 * a14 + d11 * a13 + a12 * a12
	var t25: int = d10 * a15 + d11 * a14 + d12 * a13
	var t26: int = d11 * a15 + d12 * a14 + a13 * a13
	var t27: int = d12 * a15 + d13 * a14
	var t28: int = d13 * a15 + a14 * a14
	var t29: int = d14 * a15
	var t30: int = a15 * a15
	t0 += 38 * t16
	t1 += 38 * t17
	t2 += 38 * t18
	t3 += 38 * t19
	t4 += 38 * t20
	t5 += 38 * t21
	t6 += 38 * t22
	t7 += 38 * t23
	t8 += 38 * t24
	t9 += 38 * t25
	t10 += 38 * t26
	t11 += 38 * t27
	t12 += 38 * t28
	t13 += 38 * t29
	t14 += 38 * t30
	t1 += t0 >> 16
	t0 &= 0xffff
	t2 += t1 >> 16
	t1 &= 0xffff
	t3 += t2 >> 16
	t2 &= 0xffff
	t4 += t3 >> 16
	t3 &= 0xffff
	t5 += t4 >> 16
	t4 &= 0xffff
	t6 += t5 >> 16
	t5 &= 0xffff
	t7 += t6 >> 16
	t6 &= 0xffff
	t8 += t7 >> 16
	t7 &= 0xffff
	t9 += t8 >> 16
	t8 &= 0xffff
	t10 += t9 >> 16
	t9 &= 0xffff
	t11 += t10 >> 16
	t10 &= 0xffff
	t12 += t11 >> 16
	t11 &= 0xffff
	t13 += t12 >> 16
	t12 &= 0xffff
	t14 += t13 >> 16
	t13 &= 0xffff
	t15 += t14 >> 16
	t14 &= 0xffff
	t0 += 38 * (t15 >> 16)
	t15 &= 0xffff
	t1 += t0 >> 16
	t0 &= 0xffff
	return [t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15]


# a * 121665
static func fe_mul_a24(a: Array) -> Array:
	var t0: int = a[0] * 121665
	var t1: int = a[1] * 121665
	var t2: int = a[2] * 121665
	var t3: int = a[3] * 121665
	var t4: int = a[4] * 121665
	var t5: int = a[5] * 121665
	var t6: int = a[6] * 121665
	var t7: int = a[7] * 121665
	var t8: int = a[8] * 121665
	var t9: int = a[9] * 121665
	var t10: int = a[10] * 121665
	var t11: int = a[11] * 121665
	var t12: int = a[12] * 121665
	var t13: int = a[13] * 121665
	var t14: int = a[14] * 121665
	var t15: int = a[15] * 121665
	t1 += t0 >> 16
	t0 &= 0xffff
	t2 += t1 >> 16
	t1 &= 0xffff
	t3 += t2 >> 16
	t2 &= 0xffff
	t4 += t3 >> 16
	t3 &= 0xffff
	t5 += t4 >> 16
	t4 &= 0xffff
	t6 += t5 >> 16
	t5 &= 0xffff
	t7 += t6 >> 16
	t6 &= 0xffff
	t8 += t7 >> 16
	t7 &= 0xffff
	t9 += t8 >> 16
	t8 &= 0xffff
	t10 += t9 >> 16
	t9 &= 0xffff
	t11 += t10 >> 16
	t10 &= 0xffff
	t12 += t11 >> 16
	t11 &= 0xffff
	t13 += t12 >> 16
	t12 &= 0xffff
	t14 += t13 >> 16
	t13 &= 0xffff
	t15 += t14 >> 16
	t14 &= 0xffff
	t0 += 38 * (t15 >> 16)
	t15 &= 0xffff
	t1 += t0 >> 16
	t0 &= 0xffff
	return [t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15]


# Swap a and b in place when mask is -1, leave them when it is 0, by the same operations.
static func fe_cswap(a: Array, b: Array, mask: int) -> void:
	var t := 0
	t = mask & (a[0] ^ b[0])
	a[0] ^= t
	b[0] ^= t
	t = mask & (a[1] ^ b[1])
	a[1] ^= t
	b[1] ^= t
	t = mask & (a[2] ^ b[2])
	a[2] ^= t
	b[2] ^= t
	t = mask & (a[3] ^ b[3])
	a[3] ^= t
	b[3] ^= t
	t = mask & (a[4] ^ b[4])
	a[4] ^= t
	b[4] ^= t
	t = mask & (a[5] ^ b[5])
	a[5] ^= t
	b[5] ^= t
	t = mask & (a[6] ^ b[6])
	a[6] ^= t
	b[6] ^= t
	t = mask & (a[7] ^ b[7])
	a[7] ^= t
	b[7] ^= t
	t = mask & (a[8] ^ b[8])
	a[8] ^= t
	b[8] ^= t
	t = mask & (a[9] ^ b[9])
	a[9] ^= t
	b[9] ^= t
	t = mask & (a[10] ^ b[10])
	a[10] ^= t
	b[10] ^= t
	t = mask & (a[11] ^ b[11])
	a[11] ^= t
	b[11] ^= t
	t = mask & (a[12] ^ b[12])
	a[12] ^= t
	b[12] ^= t
	t = mask & (a[13] ^ b[13])
	a[13] ^= t
	b[13] ^= t
	t = mask & (a[14] ^ b[14])
	a[14] ^= t
	b[14] ^= t
	t = mask & (a[15] ^ b[15])
	a[15] ^= t
	b[15] ^= t


static func fe_from_bytes(data: PackedByteArray) -> Array:
	var out := []
	for i in range(16):
		out.append(int(data[2 * i]) | (int(data[2 * i + 1]) << 8))
	out[15] &= 0x7fff  # the u-coordinate's top bit is ignored (RFC 7748, section 5)
	return out


static func fe_to_bytes(a: Array) -> PackedByteArray:
	var t := a.duplicate()
	# Carry until every limb is in [0, 2^16) and nothing is left above 2^256 (each pass
	# with a top carry moves the value by a multiple of 2p; two or three passes do it)...
	for _pass in range(4):
		var top := 0
		for i in range(16):
			var c: int = t[i] >> 16
			t[i] &= 0xffff
			if i < 15:
				t[i + 1] += c
			else:
				top = c
		t[0] += 38 * top
	# ... then the value is below 2^256 = 2p + 38: subtract p at most twice.
	for _round in range(2):
		var m := []
		m.resize(16)
		m[0] = t[0] - 0xffed
		for i in range(1, 16):
			var borrow: int = (m[i - 1] >> 16) & 1
			m[i - 1] &= 0xffff
			m[i] = t[i] - (0x7fff if i == 15 else 0xffff) - borrow
		var negative: int = (m[15] >> 16) & 1  # 1 when t < p: keep t
		m[15] &= 0xffff
		var keep := -negative
		for i in range(16):
			t[i] = (t[i] & keep) | (m[i] & ~keep)
	var out := PackedByteArray()
	out.resize(32)
	for i in range(16):
		out[2 * i] = t[i] & 0xff
		out[2 * i + 1] = (t[i] >> 8) & 0xff
	return out


# The inversion z^(p - 2) as an addition chain: each step is
# [destination register, source register, squarings, register to multiply by];
# register 0 holds z, the result lands in register 8 (z^(2^255 - 21)). 254 squarings and
# 11 multiplications.
const INVERT_CHAIN = [
	[1, 0, 1, -1],  # z^2
	[2, 1, 2, 0],  # z^9
	[1, 1, 0, 2],  # z^11
	[3, 1, 1, 2],  # z^(2^5 - 1)
	[3, 3, 5, 3],  # z^(2^10 - 1)
	[4, 3, 10, 3],  # z^(2^20 - 1)
	[5, 4, 20, 4],  # z^(2^40 - 1)
	[5, 5, 10, 3],  # z^(2^50 - 1)
	[6, 5, 50, 5],  # z^(2^100 - 1)
	[7, 6, 100, 6],  # z^(2^200 - 1)
	[7, 7, 50, 5],  # z^(2^250 - 1)
	[8, 7, 5, 1],  # z^(2^255 - 21)
]


# X25519 of the scalar n (32 bytes, clamped here) and the u-coordinate p (32 bytes), done
# in slices: job_run(job, budget_usec) works for about budget_usec and returns true when
# the result (job["result"], 32 bytes) is ready. A job is a Dictionary, to keep this file
# free of inner classes that would need to reach its static functions.
static func scalarmult_job(n: PackedByteArray, p: PackedByteArray) -> Dictionary:
	var k := _slice(n, 0, 32)  # a copy: the caller's key stays as it was
	k[0] = k[0] & 248
	k[31] = (k[31] & 127) | 64
	var bits := []
	for i in range(255):
		bits.append((k[i >> 3] >> (i & 7)) & 1)
	var u := fe_from_bytes(p)
	var one := []
	var zero := []
	for i in range(16):
		one.append(1 if i == 0 else 0)
		zero.append(0)
	return {
		"bits": bits, "t": 254, "swap": 0,
		"x1": u, "x2": one, "z2": zero, "x3": u.duplicate(), "z3": one.duplicate(),
		"chain": -1, "chain_left": 0, "acc": [], "regs": [], "result": null,
	}


static func job_done(job: Dictionary) -> bool:
	return job["result"] != null


# Work on the job for about budget_usec microseconds (a negative budget: to the end).
# Returns true when the result is ready.
static func job_run(job: Dictionary, budget_usec: int) -> bool:
	if job["result"] != null:
		return true
	var stop_at: int = Time.get_ticks_usec() + budget_usec
	while budget_usec < 0 or Time.get_ticks_usec() < stop_at:
		var t: int = job["t"]
		if t >= 0:
			_ladder_step(job, t)
			job["t"] = t - 1
			if t == 0:
				# The last swap back, then the inversion of z2 starts.
				fe_cswap(job["x2"], job["x3"], -job["swap"])
				fe_cswap(job["z2"], job["z3"], -job["swap"])
				job["regs"] = [job["z2"], null, null, null, null, null, null, null, null]
				job["chain"] = 0
				job["acc"] = job["z2"]
				job["chain_left"] = INVERT_CHAIN[0][2]
			continue
		# The inversion, one squaring (or one multiplication) per turn.
		var step: Array = INVERT_CHAIN[job["chain"]]
		if job["chain_left"] > 0:
			job["acc"] = fe_sqr(job["acc"])
			job["chain_left"] -= 1
			continue
		var value: Array = job["acc"]
		if step[3] >= 0:
			value = fe_mul(value, job["regs"][step[3]])
		job["regs"][step[0]] = value
		var next: int = job["chain"] + 1
		if next == INVERT_CHAIN.size():
			job["result"] = fe_to_bytes(fe_mul(job["x2"], value))
			return true
		job["chain"] = next
		job["acc"] = job["regs"][INVERT_CHAIN[next][1]]
		job["chain_left"] = INVERT_CHAIN[next][2]
	return false


# One step of the Montgomery ladder (RFC 7748, section 5), for scalar bit t.
static func _ladder_step(job: Dictionary, t: int) -> void:
	var bit: int = job["bits"][t]
	var swap: int = job["swap"] ^ bit
	job["swap"] = bit
	var x2: Array = job["x2"]
	var z2: Array = job["z2"]
	var x3: Array = job["x3"]
	var z3: Array = job["z3"]
	fe_cswap(x2, x3, -swap)
	fe_cswap(z2, z3, -swap)
	var a := fe_add(x2, z2)
	var aa := fe_sqr(a)
	var b := fe_sub(x2, z2)
	var bb := fe_sqr(b)
	var e := fe_sub(aa, bb)
	var c := fe_add(x3, z3)
	var d := fe_sub(x3, z3)
	var da := fe_mul(d, a)
	var cb := fe_mul(c, b)
	job["x3"] = fe_sqr(fe_add(da, cb))
	job["z3"] = fe_mul(job["x1"], fe_sqr(fe_sub(da, cb)))
	job["x2"] = fe_mul(aa, bb)
	job["z2"] = fe_mul(e, fe_add(aa, fe_mul_a24(e)))


static func scalarmult(n: PackedByteArray, p: PackedByteArray) -> PackedByteArray:
	var job := scalarmult_job(n, p)
	job_run(job, -1)
	return job["result"]


static func base_point() -> PackedByteArray:
	var nine := zeros(32)
	nine[0] = 9
	return nine


# The public key of a secret key (crypto_scalarmult_base, what zmq_curve_public does).
static func public_key(secret: PackedByteArray) -> PackedByteArray:
	return scalarmult(secret, base_point())


# -- Salsa20, HSalsa20, XSalsa20 ----------------------------------------------------------


# The Salsa20 core: 20 rounds over the 16-word state j. With feed_forward (Salsa20) the
# 16 words of the block; without (HSalsa20) the 8 words 0, 5, 10, 15, 6, 7, 8, 9.
static func salsa_core(j: Array, feed_forward: bool) -> Array:
	var x0: int = j[0]
	var x1: int = j[1]
	var x2: int = j[2]
	var x3: int = j[3]
	var x4: int = j[4]
	var x5: int = j[5]
	var x6: int = j[6]
	var x7: int = j[7]
	var x8: int = j[8]
	var x9: int = j[9]
	var x10: int = j[10]
	var x11: int = j[11]
	var x12: int = j[12]
	var x13: int = j[13]
	var x14: int = j[14]
	var x15: int = j[15]
	var s := 0
	for _double_round in range(10):
		# Columns: quarter-rounds on (0, 4, 8, 12), (5, 9, 13, 1), (10, 14, 2, 6), (15, 3, 7, 11).
		s = (x0 + x12) & MASK32
		x4 ^= ((s << 7) & MASK32) | (s >> 25)
		s = (x4 + x0) & MASK32
		x8 ^= ((s << 9) & MASK32) | (s >> 23)
		s = (x8 + x4) & MASK32
		x12 ^= ((s << 13) & MASK32) | (s >> 19)
		s = (x12 + x8) & MASK32
		x0 ^= ((s << 18) & MASK32) | (s >> 14)
		s = (x5 + x1) & MASK32
		x9 ^= ((s << 7) & MASK32) | (s >> 25)
		s = (x9 + x5) & MASK32
		x13 ^= ((s << 9) & MASK32) | (s >> 23)
		s = (x13 + x9) & MASK32
		x1 ^= ((s << 13) & MASK32) | (s >> 19)
		s = (x1 + x13) & MASK32
		x5 ^= ((s << 18) & MASK32) | (s >> 14)
		s = (x10 + x6) & MASK32
		x14 ^= ((s << 7) & MASK32) | (s >> 25)
		s = (x14 + x10) & MASK32
		x2 ^= ((s << 9) & MASK32) | (s >> 23)
		s = (x2 + x14) & MASK32
		x6 ^= ((s << 13) & MASK32) | (s >> 19)
		s = (x6 + x2) & MASK32
		x10 ^= ((s << 18) & MASK32) | (s >> 14)
		s = (x15 + x11) & MASK32
		x3 ^= ((s << 7) & MASK32) | (s >> 25)
		s = (x3 + x15) & MASK32
		x7 ^= ((s << 9) & MASK32) | (s >> 23)
		s = (x7 + x3) & MASK32
		x11 ^= ((s << 13) & MASK32) | (s >> 19)
		s = (x11 + x7) & MASK32
		x15 ^= ((s << 18) & MASK32) | (s >> 14)
		# Rows: quarter-rounds on (0, 1, 2, 3), (5, 6, 7, 4), (10, 11, 8, 9), (15, 12, 13, 14).
		s = (x0 + x3) & MASK32
		x1 ^= ((s << 7) & MASK32) | (s >> 25)
		s = (x1 + x0) & MASK32
		x2 ^= ((s << 9) & MASK32) | (s >> 23)
		s = (x2 + x1) & MASK32
		x3 ^= ((s << 13) & MASK32) | (s >> 19)
		s = (x3 + x2) & MASK32
		x0 ^= ((s << 18) & MASK32) | (s >> 14)
		s = (x5 + x4) & MASK32
		x6 ^= ((s << 7) & MASK32) | (s >> 25)
		s = (x6 + x5) & MASK32
		x7 ^= ((s << 9) & MASK32) | (s >> 23)
		s = (x7 + x6) & MASK32
		x4 ^= ((s << 13) & MASK32) | (s >> 19)
		s = (x4 + x7) & MASK32
		x5 ^= ((s << 18) & MASK32) | (s >> 14)
		s = (x10 + x9) & MASK32
		x11 ^= ((s << 7) & MASK32) | (s >> 25)
		s = (x11 + x10) & MASK32
		x8 ^= ((s << 9) & MASK32) | (s >> 23)
		s = (x8 + x11) & MASK32
		x9 ^= ((s << 13) & MASK32) | (s >> 19)
		s = (x9 + x8) & MASK32
		x10 ^= ((s << 18) & MASK32) | (s >> 14)
		s = (x15 + x14) & MASK32
		x12 ^= ((s << 7) & MASK32) | (s >> 25)
		s = (x12 + x15) & MASK32
		x13 ^= ((s << 9) & MASK32) | (s >> 23)
		s = (x13 + x12) & MASK32
		x14 ^= ((s << 13) & MASK32) | (s >> 19)
		s = (x14 + x13) & MASK32
		x15 ^= ((s << 18) & MASK32) | (s >> 14)
	if not feed_forward:
		return [x0, x5, x10, x15, x6, x7, x8, x9]
	return [
		(x0 + j[0]) & MASK32, (x1 + j[1]) & MASK32, (x2 + j[2]) & MASK32, (x3 + j[3]) & MASK32,
		(x4 + j[4]) & MASK32, (x5 + j[5]) & MASK32, (x6 + j[6]) & MASK32, (x7 + j[7]) & MASK32,
		(x8 + j[8]) & MASK32, (x9 + j[9]) & MASK32, (x10 + j[10]) & MASK32, (x11 + j[11]) & MASK32,
		(x12 + j[12]) & MASK32, (x13 + j[13]) & MASK32, (x14 + j[14]) & MASK32, (x15 + j[15]) & MASK32,
	]


# The state for key words k (8), and four words in the middle (nonce and counter, or
# HSalsa20's 16-byte input).
static func salsa_state(k: Array, m0: int, m1: int, m2: int, m3: int) -> Array:
	return [SIGMA0, k[0], k[1], k[2], k[3], SIGMA1, m0, m1, m2, m3, SIGMA2, k[4], k[5], k[6], k[7], SIGMA3]


# HSalsa20 of key words k (8) and input words (4): the 8 words of a derived key.
static func hsalsa20(k: Array, input: Array) -> Array:
	return salsa_core(salsa_state(k, input[0], input[1], input[2], input[3]), false)


# XSalsa20's subkey for a nonce: HSalsa20 of the key and the nonce's first 16 bytes.
static func subkey(key: PackedByteArray, nonce_prefix: PackedByteArray) -> Array:
	return hsalsa20(words_le(key, 0, 8), words_le(nonce_prefix, 0, 4))


# crypto_box_beforenm: the key that crypto_box(pk, sk) uses for every message.
static func box_beforenm(public: PackedByteArray, secret: PackedByteArray) -> PackedByteArray:
	return shared_key(scalarmult(secret, public))


# The same, from the X25519 result (when that was computed by a job).
static func shared_key(x25519_result: PackedByteArray) -> PackedByteArray:
	return words_to_bytes(hsalsa20(words_le(x25519_result, 0, 8), ZERO16))


static func _nonce_words(nonce8: PackedByteArray) -> Array:
	return [
		int(nonce8[0]) | (int(nonce8[1]) << 8) | (int(nonce8[2]) << 16) | (int(nonce8[3]) << 24),
		int(nonce8[4]) | (int(nonce8[5]) << 8) | (int(nonce8[6]) << 16) | (int(nonce8[7]) << 24),
	]


# Salsa20 with key words k and nonce words n over data, as secretbox uses it: block 0's
# first 32 bytes are the Poly1305 key, and data is XORed with the stream from its byte 32
# on, so stream block b covers data bytes 64 b - 32 .. 64 b + 31. Does blocks first_block
# to end_block - 1 into out (data's size) and returns [Poly1305 key (with block 0, else
# empty), out] (out is returned because Godot 3 passes byte arrays by value).
static func _salsa_xor_blocks(k: Array, n: Array, data: PackedByteArray, out: PackedByteArray, first_block: int, end_block: int) -> Array:
	var size := data.size()
	var poly_key := PackedByteArray()
	for block in range(first_block, end_block):
		var stream := salsa_core(salsa_state(k, n[0], n[1], block & MASK32, (block >> 32) & MASK32), true)
		var word := 0
		var pos := 64 * block - 32
		if block == 0:
			poly_key = words_to_bytes([stream[0], stream[1], stream[2], stream[3], stream[4], stream[5], stream[6], stream[7]])
			word = 8
			pos = 0
		while word < 16 and pos < size:
			var w: int = stream[word]
			word += 1
			if pos + 4 <= size:
				out[pos] = data[pos] ^ (w & 0xff)
				out[pos + 1] = data[pos + 1] ^ ((w >> 8) & 0xff)
				out[pos + 2] = data[pos + 2] ^ ((w >> 16) & 0xff)
				out[pos + 3] = data[pos + 3] ^ (w >> 24)
				pos += 4
			else:
				while pos < size:
					out[pos] = data[pos] ^ (w & 0xff)
					w >>= 8
					pos += 1
	return [poly_key, out]


# How many stream blocks a secretbox of size bytes needs (the 32-byte Poly1305 key first).
static func _blocks_for(size: int) -> int:
	return (size + 32 + 63) / 64


# -- Poly1305 ---------------------------------------------------------------------------
#
# Modulo 2^130 - 5 with five 26-bit limbs: a product of limbs is below 2^55 (r's limbs
# times 5 below 2^29), five of them below 2^58, well inside GDScript's 64-bit ints. As a
# state (poly_start, poly_update, poly_finish) so that a big message can be done in parts.


static func poly1305(message: PackedByteArray, key: PackedByteArray) -> PackedByteArray:
	var st := poly_start(key)
	poly_update(st, message, 0, message.size())
	return poly_finish(st)


static func poly_start(key: PackedByteArray) -> Dictionary:
	var k := words_le(key, 0, 8)
	# r, clamped (RFC 8439, 2.5), as 26-bit limbs; s (the pad) is the last 16 bytes.
	var r := [
		k[0] & 0x3ffffff,
		((k[0] >> 26) | (k[1] << 6)) & 0x3ffff03,
		((k[1] >> 20) | (k[2] << 12)) & 0x3ffc0ff,
		((k[2] >> 14) | (k[3] << 18)) & 0x3f03fff,
		(k[3] >> 8) & 0x00fffff,
	]
	return {"r": r, "h": [0, 0, 0, 0, 0], "pad": [k[4], k[5], k[6], k[7]]}


# Add message bytes from .. to - 1: whole 16-byte blocks, and a short last block only
# when `to` is the message's end (so parts must be multiples of 16 bytes but the last).
static func poly_update(st: Dictionary, message: PackedByteArray, from: int, to: int) -> void:
	var r: Array = st["r"]
	var r0: int = r[0]
	var r1: int = r[1]
	var r2: int = r[2]
	var r3: int = r[3]
	var r4: int = r[4]
	var s1 := r1 * 5
	var s2 := r2 * 5
	var s3 := r3 * 5
	var s4 := r4 * 5
	var h: Array = st["h"]
	var h0: int = h[0]
	var h1: int = h[1]
	var h2: int = h[2]
	var h3: int = h[3]
	var h4: int = h[4]
	var pos := from
	while pos < to:
		var t0 := 0
		var t1 := 0
		var t2 := 0
		var t3 := 0
		var hibit := 1 << 24
		if pos + 16 <= to:
			t0 = int(message[pos]) | (int(message[pos + 1]) << 8) | (int(message[pos + 2]) << 16) | (int(message[pos + 3]) << 24)
			t1 = int(message[pos + 4]) | (int(message[pos + 5]) << 8) | (int(message[pos + 6]) << 16) | (int(message[pos + 7]) << 24)
			t2 = int(message[pos + 8]) | (int(message[pos + 9]) << 8) | (int(message[pos + 10]) << 16) | (int(message[pos + 11]) << 24)
			t3 = int(message[pos + 12]) | (int(message[pos + 13]) << 8) | (int(message[pos + 14]) << 16) | (int(message[pos + 15]) << 24)
		else:
			# The last, short block: its bytes, then a 1, then zeros (and no 2^128 bit).
			var last := zeros(16)
			for i in range(to - pos):
				last[i] = message[pos + i]
			last[to - pos] = 1
			var w := words_le(last, 0, 4)
			t0 = w[0]
			t1 = w[1]
			t2 = w[2]
			t3 = w[3]
			hibit = 0
		pos += 16
		h0 += t0 & 0x3ffffff
		h1 += ((t0 >> 26) | (t1 << 6)) & 0x3ffffff
		h2 += ((t1 >> 20) | (t2 << 12)) & 0x3ffffff
		h3 += ((t2 >> 14) | (t3 << 18)) & 0x3ffffff
		h4 += (t3 >> 8) | hibit
		# h *= r, folding 2^130 = 5.
		var d0 := h0 * r0 + h1 * s4 + h2 * s3 + h3 * s2 + h4 * s1
		var d1 := h0 * r1 + h1 * r0 + h2 * s4 + h3 * s3 + h4 * s2
		var d2 := h0 * r2 + h1 * r1 + h2 * r0 + h3 * s4 + h4 * s3
		var d3 := h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s4
		var d4 := h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0
		d1 += d0 >> 26
		h0 = d0 & 0x3ffffff
		d2 += d1 >> 26
		h1 = d1 & 0x3ffffff
		d3 += d2 >> 26
		h2 = d2 & 0x3ffffff
		d4 += d3 >> 26
		h3 = d3 & 0x3ffffff
		h0 += (d4 >> 26) * 5
		h4 = d4 & 0x3ffffff
		h1 += h0 >> 26
		h0 &= 0x3ffffff
	st["h"] = [h0, h1, h2, h3, h4]


static func poly_finish(st: Dictionary) -> PackedByteArray:
	var h: Array = st["h"]
	var h0: int = h[0]
	var h1: int = h[1]
	var h2: int = h[2]
	var h3: int = h[3]
	var h4: int = h[4]
	# Fully carry, then h mod (2^130 - 5): subtract p when h >= p (g = h + 5 - 2^130 >= 0).
	h2 += h1 >> 26
	h1 &= 0x3ffffff
	h3 += h2 >> 26
	h2 &= 0x3ffffff
	h4 += h3 >> 26
	h3 &= 0x3ffffff
	h0 += (h4 >> 26) * 5
	h4 &= 0x3ffffff
	h1 += h0 >> 26
	h0 &= 0x3ffffff
	var g0 := h0 + 5
	var g1 := h1 + (g0 >> 26)
	g0 &= 0x3ffffff
	var g2 := h2 + (g1 >> 26)
	g1 &= 0x3ffffff
	var g3 := h3 + (g2 >> 26)
	g2 &= 0x3ffffff
	var g4 := h4 + (g3 >> 26) - (1 << 26)
	g3 &= 0x3ffffff
	var use_g := ((g4 >> 63) & 1) - 1  # -1 when g4 >= 0 (h >= p), else 0
	h0 = (h0 & ~use_g) | (g0 & use_g)
	h1 = (h1 & ~use_g) | (g1 & use_g)
	h2 = (h2 & ~use_g) | (g2 & use_g)
	h3 = (h3 & ~use_g) | (g3 & use_g)
	h4 = (h4 & ~use_g) | (g4 & use_g)
	# h mod 2^128 as four words, plus the pad, mod 2^128.
	var pad: Array = st["pad"]
	var w0 := (h0 | (h1 << 26)) & MASK32
	var w1 := ((h1 >> 6) | (h2 << 20)) & MASK32
	var w2 := ((h2 >> 12) | (h3 << 14)) & MASK32
	var w3 := ((h3 >> 18) | (h4 << 8)) & MASK32
	var f: int = w0 + pad[0]
	w0 = f & MASK32
	f = w1 + pad[1] + (f >> 32)
	w1 = f & MASK32
	f = w2 + pad[2] + (f >> 32)
	w2 = f & MASK32
	f = w3 + pad[3] + (f >> 32)
	w3 = f & MASK32
	return words_to_bytes([w0, w1, w2, w3])


# -- secretbox (XSalsa20-Poly1305) ------------------------------------------------------


# crypto_secretbox in libsodium's "easy" layout: 16-byte tag, then the ciphertext.
static func secretbox(message: PackedByteArray, nonce24: PackedByteArray, key: PackedByteArray) -> PackedByteArray:
	return secretbox_sub(message, subkey(key, _slice(nonce24, 0, 16)), _slice(nonce24, 16, 24))


# The tag and ciphertext with the nonce's subkey already known (see subkey()).
static func secretbox_sub(message: PackedByteArray, sub: Array, nonce8: PackedByteArray) -> PackedByteArray:
	var out := PackedByteArray()
	out.resize(message.size())
	var keyed := _salsa_xor_blocks(sub, _nonce_words(nonce8), message, out, 0, _blocks_for(message.size()))
	var sealed := poly1305(keyed[1], keyed[0])
	sealed.append_array(keyed[1])
	return sealed


# The message, or null when the box is too short or its tag is not right (forged,
# damaged or for another key or nonce).
static func secretbox_open(boxed: PackedByteArray, nonce24: PackedByteArray, key: PackedByteArray):
	return secretbox_open_sub(boxed, subkey(key, _slice(nonce24, 0, 16)), _slice(nonce24, 16, 24))


static func secretbox_open_sub(boxed: PackedByteArray, sub: Array, nonce8: PackedByteArray):
	if boxed.size() < TAG_BYTES:
		return null
	var cipher := _slice(boxed, TAG_BYTES, boxed.size())
	var n := _nonce_words(nonce8)
	# The tag first (its key is block 0's start), and only then the decryption.
	var first := _salsa_xor_blocks(sub, n, PackedByteArray(), PackedByteArray(), 0, 1)
	var tag := poly1305(cipher, first[0])
	var diff := 0
	for i in range(TAG_BYTES):
		diff |= tag[i] ^ boxed[i]
	if diff != 0:
		return null
	var out := PackedByteArray()
	out.resize(cipher.size())
	return _salsa_xor_blocks(sub, n, cipher, out, 0, _blocks_for(cipher.size()))[1]


# secretbox_sub in slices, for big messages (it costs about 1 microsecond a byte in Godot
# 3): seal_run(job, budget_usec) works for about that long and returns true when
# job["result"] (tag and ciphertext, as secretbox_sub gives) is ready.
static func seal_job(message: PackedByteArray, sub: Array, nonce8: PackedByteArray) -> Dictionary:
	var out := PackedByteArray()
	out.resize(message.size())
	return {
		"sub": sub, "n": _nonce_words(nonce8), "data": message, "out": out,
		"block": 0, "blocks": _blocks_for(message.size()), "poly": {}, "poly_pos": 0, "result": null,
	}


static func seal_run(job: Dictionary, budget_usec: int) -> bool:
	if job["result"] != null:
		return true
	var stop_at: int = Time.get_ticks_usec() + budget_usec
	var out: PackedByteArray = job["out"]
	var data: PackedByteArray = job["data"]
	var blocks: int = job["blocks"]
	while job["block"] < blocks:
		var first: int = job["block"]
		var end: int = int(min(first + 16, blocks))  # 1 kB a turn
		var keyed := _salsa_xor_blocks(job["sub"], job["n"], data, out, first, end)
		out = keyed[1]
		if first == 0:
			job["poly"] = poly_start(keyed[0])
		job["block"] = end
		if budget_usec >= 0 and Time.get_ticks_usec() >= stop_at:
			job["out"] = out
			return false
	job["out"] = out
	var size := out.size()
	while job["poly_pos"] < size:
		var from: int = job["poly_pos"]
		var to: int = int(min(from + 1024, size))
		poly_update(job["poly"], out, from, to)
		job["poly_pos"] = to
		if to < size and budget_usec >= 0 and Time.get_ticks_usec() >= stop_at:
			return false
	var sealed := poly_finish(job["poly"])
	sealed.append_array(out)
	job["result"] = sealed
	return true


# crypto_box / crypto_box_open (X25519 + HSalsa20 + XSalsa20-Poly1305), for tests and
# one-off boxes; a connection computes box_beforenm once.
static func box(message: PackedByteArray, nonce24: PackedByteArray, public: PackedByteArray, secret: PackedByteArray) -> PackedByteArray:
	return secretbox(message, nonce24, box_beforenm(public, secret))


static func box_open(boxed: PackedByteArray, nonce24: PackedByteArray, public: PackedByteArray, secret: PackedByteArray):
	return secretbox_open(boxed, nonce24, box_beforenm(public, secret))


static func _slice(data: PackedByteArray, from: int, to: int) -> PackedByteArray:
	if to <= from:
		return PackedByteArray()
	return data.slice(from, to)
