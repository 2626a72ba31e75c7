# Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit.
# Godot 4 variant of unity_bridge/godot/templates/msgpack.gd.in: edit that, then regenerate.
# msgpack for the vrclinic protocol.
#
# pack(): the canonical encoding of SPEC.md section 2, byte for byte what protocol/codec.py
# produces (golden vectors): integers and lengths in their smallest form (unsigned forms
# for values >= 0), every float as float64 (0xcb), text as str8/16/32, byte arrays as bin.
# Dictionaries are written in their insertion order; the codec builds them in declared order.
#
# unpack(): the protocol's limits are checked on each header before anything is read or
# allocated: a string or bin longer than the bytes left is "malformed" (truncated), one
# longer than the limit "too_large"; an array or map header over its limit is "too_large".
# Map keys must be text. Nesting is capped at HARD_DEPTH while reading (the codec applies
# the protocol's own, smaller, depth limit afterwards).
extends RefCounted

const Messages = preload("messages.gd")

const HARD_DEPTH = 32
const TRUNCATED = "frame ends early (truncated, or a length header claims more bytes than sent)"

# Set by unpack(): "" when it succeeded, else an ErrorCode value and a sentence.
var error_code := ""
var error_text := ""
var _buf: StreamPeerBuffer = null
var _size := 0


# -- encoding -----------------------------------------------------------------------------


static func pack(value) -> PackedByteArray:
	var out := StreamPeerBuffer.new()
	out.big_endian = true
	pack_into(out, value)
	return out.data_array


static func pack_into(out: StreamPeerBuffer, value) -> void:
	var kind := typeof(value)
	if kind == TYPE_NIL:
		out.put_u8(0xc0)
	elif kind == TYPE_BOOL:
		out.put_u8(0xc3 if value else 0xc2)
	elif kind == TYPE_INT:
		_pack_int(out, value)
	elif kind == TYPE_FLOAT:
		out.put_u8(0xcb)
		out.put_double(value)
	elif kind == TYPE_STRING:
		var data: PackedByteArray = value.to_utf8_buffer()
		var n := data.size()
		if n < 32:
			out.put_u8(0xa0 | n)
		elif n < 0x100:
			out.put_u8(0xd9)
			out.put_u8(n)
		elif n < 0x10000:
			out.put_u8(0xda)
			out.put_u16(n)
		else:
			out.put_u8(0xdb)
			out.put_u32(n)
		out.put_data(data)
	elif kind == TYPE_PACKED_BYTE_ARRAY:
		var n: int = value.size()
		if n < 0x100:
			out.put_u8(0xc4)
			out.put_u8(n)
		elif n < 0x10000:
			out.put_u8(0xc5)
			out.put_u16(n)
		else:
			out.put_u8(0xc6)
			out.put_u32(n)
		out.put_data(value)
	elif kind == TYPE_ARRAY:
		var n: int = value.size()
		if n < 16:
			out.put_u8(0x90 | n)
		elif n < 0x10000:
			out.put_u8(0xdc)
			out.put_u16(n)
		else:
			out.put_u8(0xdd)
			out.put_u32(n)
		for item in value:
			pack_into(out, item)
	elif kind == TYPE_DICTIONARY:
		var n: int = value.size()
		if n < 16:
			out.put_u8(0x80 | n)
		elif n < 0x10000:
			out.put_u8(0xde)
			out.put_u16(n)
		else:
			out.put_u8(0xdf)
			out.put_u32(n)
		for key in value:
			pack_into(out, key)
			pack_into(out, value[key])
	else:
		# The codec validates every message first, so this is a bug in the caller.
		push_error("vrclinic msgpack: cannot encode a value of Variant type %d" % kind)
		out.put_u8(0xc0)


static func _pack_int(out: StreamPeerBuffer, v: int) -> void:
	if v >= 0:
		if v < 0x80:
			out.put_u8(v)
		elif v < 0x100:
			out.put_u8(0xcc)
			out.put_u8(v)
		elif v < 0x10000:
			out.put_u8(0xcd)
			out.put_u16(v)
		elif v < 0x100000000:
			out.put_u8(0xce)
			out.put_u32(v)
		else:
			out.put_u8(0xcf)
			out.put_64(v)
	elif v >= -32:
		out.put_u8(v + 256)
	elif v >= -0x80:
		out.put_u8(0xd0)
		out.put_8(v)
	elif v >= -0x8000:
		out.put_u8(0xd1)
		out.put_16(v)
	elif v >= -0x80000000:
		out.put_u8(0xd2)
		out.put_32(v)
	else:
		out.put_u8(0xd3)
		out.put_64(v)


# -- decoding -----------------------------------------------------------------------------


# The value in frame, or null with error_code set. (A msgpack nil also gives null: check
# error_code, not the value.)
func unpack(frame: PackedByteArray):
	error_code = ""
	error_text = ""
	_size = frame.size()
	if _size > Messages.MAX_FRAME_BYTES:
		return _fail("too_large", "frame of %d bytes exceeds the limit of %d" % [_size, Messages.MAX_FRAME_BYTES])
	if _size == 0:
		return _fail("malformed", "empty frame")
	_buf = StreamPeerBuffer.new()
	_buf.big_endian = true
	_buf.data_array = frame
	var value = _read(1)
	if error_code != "":
		return null
	if _buf.get_position() != _size:
		return _fail("malformed", "extra bytes after the message map")
	return value


func _fail(code: String, text: String):
	if error_code == "":
		error_code = code
		error_text = text
	return null


func _left() -> int:
	return _size - _buf.get_position()


func _need(n: int) -> bool:
	if _left() < n:
		_fail("malformed", TRUNCATED)
		return false
	return true


func _read(depth: int):
	if error_code != "" or not _need(1):
		return null
	var b: int = _buf.get_u8()
	if b <= 0x7f:
		return b
	if b >= 0xe0:
		return b - 256
	if b >= 0xa0 and b <= 0xbf:
		return _read_str(b & 0x1f)
	if b >= 0x90 and b <= 0x9f:
		return _read_array(b & 0x0f, depth)
	if b >= 0x80 and b <= 0x8f:
		return _read_map(b & 0x0f, depth)
	if b == 0xc0:
		return null
	if b == 0xc2:
		return false
	if b == 0xc3:
		return true
	if b == 0xc4 or b == 0xc5 or b == 0xc6:
		return _read_bin(_read_length(1 << (b - 0xc4)))
	if b == 0xca:
		return _buf.get_float() if _need(4) else null
	if b == 0xcb:
		return _buf.get_double() if _need(8) else null
	if b == 0xcc:
		return _buf.get_u8() if _need(1) else null
	if b == 0xcd:
		return _buf.get_u16() if _need(2) else null
	if b == 0xce:
		return _buf.get_u32() if _need(4) else null
	if b == 0xcf:
		if not _need(8):
			return null
		var u: int = _buf.get_64()
		if u < 0:
			return _fail("malformed", "an unsigned integer above 2^63 (no protocol field allows one)")
		return u
	if b == 0xd0:
		return _buf.get_8() if _need(1) else null
	if b == 0xd1:
		return _buf.get_16() if _need(2) else null
	if b == 0xd2:
		return _buf.get_32() if _need(4) else null
	if b == 0xd3:
		return _buf.get_64() if _need(8) else null
	if b == 0xd9 or b == 0xda or b == 0xdb:
		return _read_str(_read_length(1 << (b - 0xd9)))
	if b == 0xdc or b == 0xdd:
		return _read_array(_read_length(2 if b == 0xdc else 4), depth)
	if b == 0xde or b == 0xdf:
		return _read_map(_read_length(2 if b == 0xde else 4), depth)
	if b == 0xc1:
		return _fail("malformed", "not valid msgpack (byte 0xc1 is never used)")
	return _fail("malformed", "not valid msgpack (extension types are not used by this protocol)")


func _read_length(width: int) -> int:
	if not _need(width):
		return -1
	if width == 1:
		return _buf.get_u8()
	if width == 2:
		return _buf.get_u16()
	return _buf.get_u32()


func _read_raw(n: int, limit: int, what: String):
	if n < 0 or not _need(n):
		return null
	if n > limit:
		return _fail("too_large", "a length header is over the limit (%d exceeds max_%s_len(%d))" % [n, what, limit])
	if n == 0:
		return PackedByteArray()
	var got: Array = _buf.get_data(n)
	if got[0] != OK:
		return _fail("malformed", TRUNCATED)
	return got[1]


func _read_str(n: int):
	var data = _read_raw(n, Messages.MAX_STR_BYTES, "str")
	if data == null:
		return null
	if not valid_utf8(data):
		return _fail("malformed", "not valid msgpack (a string is not valid UTF-8)")
	return data.get_string_from_utf8()


func _read_bin(n: int):
	return _read_raw(n, Messages.MAX_JPEG_BYTES, "bin")


func _read_array(n: int, depth: int):
	if n < 0:
		return null
	if n > Messages.MAX_LIST_LEN:
		return _fail("too_large", "a length header is over the limit (%d exceeds max_array_len(%d))" % [n, Messages.MAX_LIST_LEN])
	if not _need(n):  # every item takes at least one byte
		return null
	if depth >= HARD_DEPTH:
		return _fail("too_deep", "nesting too deep to decode")
	var items := []
	for i in range(n):
		var item = _read(depth + 1)
		if error_code != "":
			return null
		items.append(item)
	return items


func _read_map(n: int, depth: int):
	if n < 0:
		return null
	if n > Messages.MAX_MAP_LEN:
		return _fail("too_large", "a length header is over the limit (%d exceeds max_map_len(%d))" % [n, Messages.MAX_MAP_LEN])
	if not _need(2 * n):
		return null
	if depth >= HARD_DEPTH:
		return _fail("too_deep", "nesting too deep to decode")
	var map := {}
	for i in range(n):
		var key = _read(depth + 1)
		if error_code != "":
			return null
		if typeof(key) != TYPE_STRING:
			return _fail("malformed", "not valid msgpack (a map key is not text)")
		var value = _read(depth + 1)
		if error_code != "":
			return null
		map[key] = value
	return map


# Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), as Python decodes it.
static func valid_utf8(data: PackedByteArray) -> bool:
	var i := 0
	var n := data.size()
	while i < n:
		var c: int = data[i]
		if c < 0x80:
			i += 1
			continue
		var extra := 0
		var low := 0x80
		var high := 0xbf
		if c >= 0xc2 and c <= 0xdf:
			extra = 1
		elif c >= 0xe0 and c <= 0xef:
			extra = 2
			if c == 0xe0:
				low = 0xa0
			elif c == 0xed:
				high = 0x9f
		elif c >= 0xf0 and c <= 0xf4:
			extra = 3
			if c == 0xf0:
				low = 0x90
			elif c == 0xf4:
				high = 0x8f
		else:
			return false
		if i + extra >= n:
			return false
		var second: int = data[i + 1]
		if second < low or second > high:
			return false
		for k in range(2, extra + 1):
			var cont: int = data[i + k]
			if cont < 0x80 or cont > 0xbf:
				return false
		i += extra + 1
	return true
