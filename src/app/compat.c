/* compat.c - the former common/state.c entry points, as thin wrappers over app_*,
 * for src/cli/deploy.c until it moves to src/deploy/ (see app.h). */
#include "app.h"



int state_app_load(const char *app, json_t **out)
{
	return app_load(app, out);
}

int state_app_save(const char *app, const json_t *obj)
{
	return app_save(app, obj);
}


int state_releases_load(const char *app, json_t **out)
{
	return app_releases_load(app, out);
}

int state_releases_save(const char *app, const json_t *obj)
{
	return app_releases_save(app, obj);
}

json_t *state_current_release(const json_t *releases)
{
	return app_release_current(releases);
}

int state_global_load(json_t **out)
{
	return app_global_load(out);
}



int state_app_domains(const char *app, const json_t *appobj, json_t **out)
{
	return app_domains(app, appobj, out);
}



int state_app_lock(struct lock *l, const char *app)
{
	return app_lock(l, app);
}

int state_now(struct buf *out)
{
	return clock_utc_iso8601(out);
}
