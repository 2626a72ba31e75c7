# Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit.
# Godot 3 variant of unity_bridge/godot/templates/codec.gd.in: edit that, then regenerate.
# Encode and decode protocol frames, validating every field against the declaration
# (messages.gd): the GDScript counterpart of protocol/codec.py.
#
# encode(message, id) -> {"ok": true, "frame": bytes} or an error result
# decode(frame, receiver, lenient) -> {"ok": true, "id": int, "message": Dictionary or null,
#     "ignored": [field paths]} or an error result
# An error result is {"ok": false, "code": ErrorCode value, "text": sentence naming the
# message, the field and the problem, "ref_type": String, "ref_id": int}; error_message()
# turns it into the `error` message that tells the peer.
#
# A decoded message is a Dictionary with "type", "id" and every declared field (absent
# optional fields filled with their defaults, integers given for floats made floats,
# bytes as PoolByteArray). `lenient` is for a peer that announced a newer minor version:
# its unknown fields are ignored (listed in "ignored") and unknown types give a null
# message. Otherwise both are errors.
extends Reference

const Messages = preload("messages.gd")
const Msgpack = preload("msgpack.gd")

const ENVELOPE_KEYS = ["type", "id"]


static func ok_result(extra: Dictionary) -> Dictionary:
	var out := {"ok": true}
	for key in extra:
		out[key] = extra[key]
	return out


static func error_result(code: String, problem: String, msg_type: String = "", field: String = "", ref_id: int = -1) -> Dictionary:
	var where := msg_type
	if field != "":
		where = field if where == "" else where + "." + field
	var text := problem if where == "" else where + ": " + problem
	return {"ok": false, "code": code, "text": text, "ref_type": msg_type, "ref_id": ref_id}


# The `error` message answering a frame that could not be accepted.
static func error_message(result: Dictionary) -> Dictionary:
	return Messages.error(result["code"], clip(result["text"], 1024), clip(result["ref_type"], 64), result["ref_id"])


# text cut to at most max_bytes of UTF-8 (ending in "..." when cut).
static func clip(text: String, max_bytes: int) -> String:
	if text.to_utf8().size() <= max_bytes:
		return text
	var out := text
	while out.to_utf8().size() > max_bytes - 3:
		out = out.substr(0, out.length() - 1)
	return out + "..."


static func describe(value) -> String:
	var kind := typeof(value)
	var text := ""
	if kind == TYPE_STRING:
		text = "'" + value + "'"
	elif kind == TYPE_NIL:
		text = "None"
	elif kind == TYPE_BOOL:
		text = "True" if value else "False"
	elif kind == TYPE_RAW_ARRAY:
		text = "%d bytes" % value.size()
	elif kind == TYPE_DICTIONARY:
		text = "a map of %d entries" % value.size()
	elif kind == TYPE_ARRAY:
		text = "a list of %d items" % value.size()
	else:
		text = str(value)
	return text if text.length() <= 40 else text.substr(0, 37) + "..."


static func join(items: Array, separator: String) -> String:
	var out := ""
	for i in range(items.size()):
		out += (separator if i > 0 else "") + str(items[i])
	return out


static func accepted_by(msg_type: String, receiver: String) -> bool:
	var direction: String = Messages.MESSAGES[msg_type]["direction"]
	var sender := "engine" if receiver == "console" else "console"
	return direction == "both" or direction.begins_with(sender + "_")


# -- encoding -----------------------------------------------------------------------------


static func encode(message: Dictionary, msg_id: int) -> Dictionary:
	var msg_type = message.get("type", "")
	if typeof(msg_type) != TYPE_STRING or not Messages.MESSAGES.has(msg_type):
		return error_result("unknown_type", "%s is not a protocol message" % describe(msg_type))
	var ctx := {"error": null, "lenient": false, "ignored": [], "encoding": true}
	var body := {"type": msg_type, "id": msg_id}
	var fields: Dictionary = _fields(message, Messages.MESSAGES[msg_type]["fields"], "", ctx, true)
	if ctx["error"] != null:
		return _located(ctx["error"], msg_type, -1)
	for key in fields:
		body[key] = fields[key]
	var frame: PoolByteArray = Msgpack.pack(body)
	var limit: int = Messages.MAX_FRAME_BYTES if msg_type == "mirror_frame" else Messages.MAX_CONTROL_FRAME_BYTES
	if frame.size() > limit:
		return error_result("too_large", "frame of %d bytes exceeds %d" % [frame.size(), limit], msg_type)
	return ok_result({"frame": frame})


# -- decoding -----------------------------------------------------------------------------


static func peek_envelope(frame: PoolByteArray) -> Array:
	var unpacker = Msgpack.new()
	var raw = unpacker.unpack(frame)
	if unpacker.error_code != "" or typeof(raw) != TYPE_DICTIONARY:
		return ["", -1]
	var t = raw.get("type")
	var i = raw.get("id")
	return [t if typeof(t) == TYPE_STRING else "", i if typeof(i) == TYPE_INT else -1]


static func decode(frame: PoolByteArray, receiver: String, lenient: bool) -> Dictionary:
	var unpacker = Msgpack.new()
	var raw = unpacker.unpack(frame)
	if unpacker.error_code != "":
		return error_result(unpacker.error_code, unpacker.error_text)
	if typeof(raw) != TYPE_DICTIONARY:
		return error_result("malformed", "expected a map with type and id, got a msgpack %s" % _msgpack_kind(raw))
	var msg_type = raw.get("type")
	var msg_id = raw.get("id")
	if typeof(msg_type) != TYPE_STRING or msg_type == "":
		return error_result("malformed", "the map has no text 'type'", "", "", msg_id if typeof(msg_id) == TYPE_INT else -1)
	if typeof(msg_id) != TYPE_INT or msg_id < 0:
		return error_result("malformed", "the map has no non-negative integer 'id'", msg_type)
	if depth_of(raw) > Messages.MAX_DEPTH:
		return error_result("too_deep", "nesting deeper than %d" % Messages.MAX_DEPTH, msg_type, "", msg_id)
	if not Messages.MESSAGES.has(msg_type):
		if lenient:
			return ok_result({"id": msg_id, "message": null, "ignored": []})
		return error_result("unknown_type", "unknown message type (not in protocol %s)" % Messages.PROTOCOL_VERSION, msg_type, "", msg_id)
	if msg_type != "mirror_frame" and frame.size() > Messages.MAX_CONTROL_FRAME_BYTES:
		var problem := "frame of %d bytes exceeds the %d-byte limit for control messages" % [frame.size(), Messages.MAX_CONTROL_FRAME_BYTES]
		return error_result("too_large", problem, msg_type, "", msg_id)
	if not accepted_by(msg_type, receiver):
		var direction: String = Messages.MESSAGES[msg_type]["direction"]
		var problem := "only %s; a %s does not accept it" % [direction.replace("_", " "), receiver]
		return error_result("wrong_direction", problem, msg_type, "", msg_id)
	var ctx := {"error": null, "lenient": lenient, "ignored": [], "encoding": false}
	var message: Dictionary = _fields(raw, Messages.MESSAGES[msg_type]["fields"], "", ctx, true)
	if ctx["error"] != null:
		return _located(ctx["error"], msg_type, msg_id)
	var out := {"type": msg_type, "id": msg_id}
	for key in message:
		out[key] = message[key]
	return ok_result({"id": msg_id, "message": out, "ignored": ctx["ignored"]})


static func _msgpack_kind(value) -> String:
	var kind := typeof(value)
	if kind == TYPE_ARRAY:
		return "list"
	if kind == TYPE_STRING:
		return "str"
	if kind == TYPE_INT:
		return "int"
	if kind == TYPE_REAL:
		return "float"
	if kind == TYPE_BOOL:
		return "bool"
	if kind == TYPE_RAW_ARRAY:
		return "bytes"
	return "NoneType"


# Nesting of maps and lists, the outermost counting as 1.
static func depth_of(value) -> int:
	var kind := typeof(value)
	var children := []
	if kind == TYPE_DICTIONARY:
		children = value.values()
	elif kind == TYPE_ARRAY:
		children = value
	else:
		return 0
	var deepest := 0
	for child in children:
		deepest = max(deepest, depth_of(child))
	return 1 + deepest


static func _located(error: Dictionary, msg_type: String, msg_id: int) -> Dictionary:
	return error_result(error["code"], error["problem"], msg_type, error["field"], msg_id)


# Records the first problem in ctx; returns null so that a validator can `return _fail(...)`.
static func _fail(ctx: Dictionary, code: String, problem: String, path: String):
	if ctx["error"] == null:
		ctx["error"] = {"code": code, "problem": problem, "field": path}
	return null


static func _join_path(prefix: String, name: String) -> String:
	return name if prefix == "" else prefix + "." + name


# Validate a map against a field table; returns the fields in declared order.
static func _fields(raw: Dictionary, fields: Array, prefix: String, ctx: Dictionary, envelope: bool) -> Dictionary:
	var out := {}
	var names := []
	for spec in fields:
		var name: String = spec["name"]
		names.append(name)
		var path := _join_path(prefix, name)
		if not raw.has(name):
			if not spec["optional"]:
				_fail(ctx, "invalid_field", "required field is missing", path)
				return out
			var fallback = spec["default"]
			out[name] = fallback.duplicate() if typeof(fallback) == TYPE_ARRAY else fallback
			continue
		var value = _value(raw[name], spec["type"], spec, true, path, ctx)
		if ctx["error"] != null:
			return out
		out[name] = value
	var extra := []
	for key in raw:
		if not (key in names) and not (envelope and key in ENVELOPE_KEYS):
			extra.append(str(key))
	if extra.size() > 0:
		if not ctx["lenient"]:
			extra.sort()
			var problem := "unknown field(s) %s (not in protocol %s)" % [join(extra, ", "), Messages.PROTOCOL_VERSION]
			_fail(ctx, "invalid_field", problem, prefix)
			return out
		for key in extra:
			ctx["ignored"].append(_join_path(prefix, key))
	return out


static func _bounds(spec: Dictionary, value, path: String, ctx: Dictionary) -> void:
	if spec["min"] != null and value < spec["min"]:
		_fail(ctx, "out_of_range", "%s is below the minimum %s" % [str(value), str(spec["min"])], path)
	elif spec["max"] != null and value > spec["max"]:
		_fail(ctx, "out_of_range", "%s is above the maximum %s" % [str(value), str(spec["max"])], path)


static func _value(v, type_spec: Dictionary, spec: Dictionary, top: bool, path: String, ctx: Dictionary):
	var kind: String = type_spec["kind"]
	var vt := typeof(v)
	if kind == "bool":
		if vt != TYPE_BOOL:
			return _fail(ctx, "invalid_field", "expected true/false, got %s" % describe(v), path)
		return v
	if kind == "int":
		if vt == TYPE_REAL and ctx["encoding"] and not is_nan(v) and not is_inf(v) and v == floor(v):
			v = int(v)  # a whole number handed to an int field by GDScript code
		elif vt != TYPE_INT:
			return _fail(ctx, "invalid_field", "expected an integer, got %s" % describe(v), path)
		_bounds(spec, v, path, ctx)
		return v
	if kind == "float":
		if vt != TYPE_REAL and vt != TYPE_INT:
			return _fail(ctx, "invalid_field", "expected a number, got %s" % describe(v), path)
		v = float(v)
		if is_nan(v) or is_inf(v):
			return _fail(ctx, "invalid_field", "%s is not a finite number" % str(v), path)
		_bounds(spec, v, path, ctx)
		return v
	if kind == "str" or kind == "enum":
		if vt != TYPE_STRING:
			if kind == "enum":
				return _fail(ctx, "invalid_field", "%s is not one of %s" % [describe(v), join(Messages.ENUMS[type_spec["name"]], ", ")], path)
			return _fail(ctx, "invalid_field", "expected text, got %s" % describe(v), path)
		if kind == "enum":
			if not (v in Messages.ENUMS[type_spec["name"]]):
				return _fail(ctx, "invalid_field", "%s is not one of %s" % [describe(v), join(Messages.ENUMS[type_spec["name"]], ", ")], path)
			return v
		var limit: int = Messages.MAX_STR_BYTES
		if top and spec["max_len"] != null:
			limit = min(spec["max_len"], limit)
		var n: int = v.to_utf8().size()
		if n > limit:
			return _fail(ctx, "too_large", "text of %d bytes exceeds %d" % [n, limit], path)
		return v
	if kind == "bytes":
		if vt != TYPE_RAW_ARRAY:
			return _fail(ctx, "invalid_field", "expected binary data, got %s" % describe(v), path)
		var limit: int = spec["max_len"] if spec["max_len"] != null else Messages.MAX_JPEG_BYTES
		if v.size() > limit:
			return _fail(ctx, "too_large", "%d bytes exceed the limit of %d" % [v.size(), limit], path)
		return v
	if kind == "list":
		if vt != TYPE_ARRAY:
			return _fail(ctx, "invalid_field", "expected a list, got %s" % describe(v), path)
		if spec["len"] != null and v.size() != spec["len"]:
			return _fail(ctx, "invalid_field", "expected %d items, got %d" % [spec["len"], v.size()], path)
		var longest: int = Messages.MAX_LIST_LEN
		if spec["max_len"] != null:
			longest = min(spec["max_len"], longest)
		if v.size() > longest:
			return _fail(ctx, "too_large", "%d items exceed the limit of %d" % [v.size(), longest], path)
		var item_type: Dictionary = type_spec["item"]
		var numeric: bool = item_type["kind"] == "int" or item_type["kind"] == "float"
		var items := []
		for i in range(v.size()):
			var item_path := "%s[%d]" % [path, i]
			var item = _value(v[i], item_type, spec, false, item_path, ctx)
			if ctx["error"] != null:
				return null
			if numeric:
				_bounds(spec, item, item_path, ctx)
				if ctx["error"] != null:
					return null
			items.append(item)
		return items
	if kind == "struct":
		if vt != TYPE_DICTIONARY:
			return _fail(ctx, "invalid_field", "expected a map (%s), got %s" % [type_spec["name"], describe(v)], path)
		return _fields(v, Messages.STRUCTS[type_spec["name"]], path, ctx, false)
	return _fail(ctx, "invalid_field", "no validator for type kind %s" % kind, path)
