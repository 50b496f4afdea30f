# contrib/wharf-completion.bash - bash completion for wharf: command names (from
# `wharf help --commands`, so it follows the installed version) and app names.
# Install: copy to /etc/bash_completion.d/wharf, or `. contrib/wharf-completion.bash`.

_wharf() {
	local cur=${COMP_WORDS[COMP_CWORD]} i=1 cmd
	COMPREPLY=()
	# Global flags come before the command; --app takes a value.
	while [ "$i" -lt "$COMP_CWORD" ]; do
		case ${COMP_WORDS[i]} in
		--app) i=$((i + 2)) ;;
		-*) i=$((i + 1)) ;;
		*) break ;;
		esac
	done
	if [ "$i" -ge "$COMP_CWORD" ]; then
		if [ "${COMP_WORDS[COMP_CWORD - 1]}" = --app ]; then
			mapfile -t COMPREPLY < <(compgen -W "$(wharf --quiet apps:list 2>/dev/null)" -- "$cur")
		elif [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "--app --quiet --force --trace --help --version" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$(wharf help --commands 2>/dev/null)" -- "$cur")
		fi
		return 0
	fi
	cmd=${COMP_WORDS[i]}
	# The first argument of most commands is an app.
	if [ $((COMP_CWORD - i)) -eq 1 ] && [[ $cur != -* ]]; then
		case $cmd in
		help | version | router | apps:create | apps:list | ssh-keys:* | stack:* | *-global | ps:restore | cluster:*) ;;
		*) mapfile -t COMPREPLY < <(compgen -W "$(wharf --quiet apps:list 2>/dev/null)" -- "$cur") ;;
		esac
		return 0
	fi
	# Fixed words after the app.
	local words=""
	case $cmd:$((COMP_CWORD - i)) in
	builder:set:2) words=selected ;;
	builder:set:3) words="dockerfile buildpacks image" ;;
	scheduler:set:2) words=selected ;;
	scheduler:set:3) words="docker-local swarm" ;;
	git:set:2) words=deploy-branch ;;
	releases:set:2) words=retain ;;
	checks:enable:2 | checks:disable:2 | checks:skip:2) words="web worker _all_" ;;
	ports:add:* | ports:set:*) words="http:80:5000 https:443:5000" ;;
	esac
	[ -z "$words" ] || mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
	return 0
}
complete -F _wharf wharf
