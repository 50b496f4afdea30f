# shellcheck shell=sh
# plugins/services/triggers.sh - what the plugin's triggers do, once per kind (for_each_kind).
# shellcheck source=lib.sh
. "$WHARF_PLUGIN_DIR/lib.sh"

# pre-deploy APP IMAGE VERSION: the services linked to APP join its network before its
# containers start (a link made before the app's first build could not).
on_pre_deploy() {
	for name in $(services_of_app "$1"); do
		[ "$(svc_status "$name")" = missing ] || connect_app "$name" "$1"
	done
}

# pre-delete APP: the services linked to APP leave its network, so apps:destroy can remove
# it. The links themselves go in post-delete.
on_pre_delete() {
	for name in $(services_of_app "$1"); do
		disconnect_app "$name" "$1"
	done
}

# post-delete APP: forget the destroyed app's links.
on_post_delete() {
	for name in $(services_of_app "$1"); do
		rest=$(awk -v a="$1" '$1 != a' "$(svc_dir "$name")/LINKS")
		set_links_file "$name" "${rest:+$rest
}"
	done
}

# post-ssh-key-remove KEY: the removed key's grants go with it, so a key added later under
# the same name starts with none (as acl.json's grants of apps do).
on_post_ssh_key_remove() {
	for d in "$SERVICES_ROOT/$KIND"/*/; do
		[ -s "$d/GRANTS" ] || continue
		rest=$(grep -vxF "$1" "$d/GRANTS" || true)
		printf '%s' "${rest:+$rest
}" >"$d/GRANTS"
	done
}

# post-rename OLD NEW: the links follow the app's new name; the services leave the old
# network and join the new one (pre-deploy joins it too when NEW is deployed).
on_post_rename() {
	for name in $(services_of_app "$1"); do
		disconnect_app "$name" "$1"
		set_links_file "$name" "$(awk -v a="$1" -v b="$2" '$1 == a { $1 = b } { print }' "$(svc_dir "$name")/LINKS")
"
		connect_app "$name" "$2"
	done
}

# pre-restore: ps:restore (at boot) brings every service back before the apps, except those
# stopped with KIND:stop; a lost container is made again from its data. Every service is
# started first, then waited for, so that they come up side by side within the trigger's
# timeout (60 s, or WHARF_PLUGIN_TIMEOUT).
to_restore() {
	for d in "$SERVICES_ROOT/$KIND"/*/; do
		[ -s "$d/PASSWORD" ] && [ ! -e "$d/STOPPED" ] && basename "$d"
	done
	return 0
}

on_pre_restore() {
	for name in $(to_restore); do
		case $(svc_status "$name") in
		running) ;;
		missing) svc_run "$name" ;;
		*) docker start "$(svc_container "$name")" >/dev/null ;;
		esac
	done
}

on_pre_restore_wait() {
	for name in $(to_restore); do
		svc_wait "$name"
		echo "-----> Restored $KIND service $name"
	done
}
