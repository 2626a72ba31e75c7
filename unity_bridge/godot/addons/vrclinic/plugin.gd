# Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit.
# Godot 4 variant of unity_bridge/godot/templates/plugin.gd.in: edit that, then regenerate.
# Registers the VrclinicLink node type (Add Child Node > VrclinicLink) while the addon is
# enabled in Project Settings > Plugins.
@tool
extends EditorPlugin

const LinkScript = preload("vrclinic_link.gd")


func _enter_tree() -> void:
	add_custom_type("VrclinicLink", "Node", LinkScript, null)


func _exit_tree() -> void:
	remove_custom_type("VrclinicLink")
