# The golden vectors through the Godot 3 addon's codec, in the Godot 3 runtime:
#   godot3-server --path <project> -s res://vectors_check.gd -- --vectors /path/to/golden.json
# Every valid vector must decode to its value (and, where the vector says so, re-encode
# to the same bytes); every invalid one must be refused with its error code. Prints one
# line per failure and "vectors: N valid, M invalid, F failed"; exits 0 only when F is 0.
extends SceneTree

const Codec = preload("res://addons/vrclinic/codec.gd")
const Messages = preload("res://addons/vrclinic/messages.gd")

var failures := 0


func _init() -> void:
	var args := Array(OS.get_cmdline_args())
	var at := args.find("--vectors")
	if at < 0 or at + 1 >= args.size():
		printerr("usage: -s res://vectors_check.gd -- --vectors golden.json")
		quit(2)
		return
	var file := File.new()
	if file.open(args[at + 1], File.READ) != OK:
		printerr("cannot read %s" % args[at + 1])
		quit(2)
		return
	var parsed := JSON.parse(file.get_as_text())
	file.close()
	if parsed.error != OK:
		printerr("golden vectors are not JSON: %s" % parsed.error_string)
		quit(2)
		return
	var golden: Dictionary = parsed.result
	for vector in golden["valid"]:
		_check_valid(vector)
	for vector in golden["invalid"]:
		_check_invalid(vector)
	print("vectors: %d valid, %d invalid, %d failed" % [golden["valid"].size(), golden["invalid"].size(), failures])
	quit(0 if failures == 0 else 1)


func _fail(name: String, text: String) -> void:
	failures += 1
	print("FAIL %s: %s" % [name, text])


static func from_hex(text: String) -> PoolByteArray:
	var out := PoolByteArray()
	for i in range(0, text.length(), 2):
		out.append(("0x" + text.substr(i, 2)).hex_to_int())
	return out


static func to_hex(data: PoolByteArray) -> String:
	var out := ""
	for b in data:
		out += "%02x" % b
	return out


func _check_valid(vector: Dictionary) -> void:
	var name: String = vector["name"]
	var msg_type: String = vector["type"]
	var receiver := "engine" if Codec.accepted_by(msg_type, "engine") else "console"
	var frame := from_hex(vector["hex"])
	var result := Codec.decode(frame, receiver, false)
	if not result["ok"]:
		_fail(name, "refused: %s (%s)" % [result["text"], result["code"]])
		return
	var why := _differs(result["message"], vector["value"], "")
	if why != "":
		_fail(name, "decoded value differs at %s" % why)
	if vector["reencode"]:
		var encoded := Codec.encode(result["message"], result["id"])
		if not encoded["ok"]:
			_fail(name, "re-encoding refused: %s" % encoded["text"])
		elif to_hex(encoded["frame"]) != vector["hex"]:
			_fail(name, "re-encoded as %s" % to_hex(encoded["frame"]))


func _check_invalid(vector: Dictionary) -> void:
	var result := Codec.decode(from_hex(vector["hex"]), vector["receiver"], false)
	if result["ok"]:
		_fail(vector["name"], "accepted, expected %s" % vector["error"])
	elif result["code"] != vector["error"]:
		_fail(vector["name"], "refused with %s (%s), expected %s" % [result["code"], result["text"], vector["error"]])


# "" when got (decoded) equals want (from JSON, where every number is a float and bytes
# are {"$hex": ...}), else the path of the first difference.
func _differs(got, want, path: String) -> String:
	if typeof(want) == TYPE_DICTIONARY and want.has("$hex"):
		if typeof(got) != TYPE_RAW_ARRAY or to_hex(got) != want["$hex"]:
			return path
		return ""
	if typeof(want) == TYPE_DICTIONARY:
		if typeof(got) != TYPE_DICTIONARY or got.size() != want.size():
			return path
		for key in want:
			if not got.has(key):
				return path + "." + key
			var inner := _differs(got[key], want[key], path + "." + key)
			if inner != "":
				return inner
		return ""
	if typeof(want) == TYPE_ARRAY:
		if typeof(got) != TYPE_ARRAY or got.size() != want.size():
			return path
		for i in range(want.size()):
			var inner := _differs(got[i], want[i], "%s[%d]" % [path, i])
			if inner != "":
				return inner
		return ""
	if typeof(want) == TYPE_REAL:
		if (typeof(got) != TYPE_INT and typeof(got) != TYPE_REAL) or abs(float(got) - want) > 1e-9 * max(1.0, abs(want)):
			return path
		return ""
	if typeof(got) != typeof(want) or got != want:
		return path
	return ""
