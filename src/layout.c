// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "layout.h"
#include "util.h"

static void marker_path(const char *root, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", root, CGF_LAYOUT_PIN);
}

int cgf_layout_present(const char *root, uint32_t *layout)
{
	char p[512];
	uint32_t zero = 0, v = 0;
	int fd, err = 0;

	*layout = 1;
	marker_path(root, p, sizeof(p));
	fd = bpf_obj_get(p);
	if (fd < 0)	/* none: layout 1; not ours to read: the pins are not either */
		return errno == ENOENT || errno == EPERM || errno == EACCES ? 0 : -errno;
	if (bpf_map_lookup_elem(fd, &zero, &v))
		err = -errno;
	else if (v > 1)
		*layout = v;
	close(fd);
	return err;
}

int cgf_layout_check(const char *root)
{
	uint32_t l;
	int err = cgf_layout_present(root, &l);

	if (err)
		return cgf_error(err, "cannot read the pin layout in %s/%s: %s", root,
				 CGF_LAYOUT_PIN, strerror(-err));
	if (l > CGF_LAYOUT)
		return cgf_error(-EPROTO, "the policies under %s were applied by a newer cgfence "
				 "(pin layout %u; this cgfence %s knows layouts 1 to %u): nothing "
				 "was changed; use that cgfence, or a newer one, to change or detach "
				 "them", root, l, CGF_VERSION, CGF_LAYOUT);
	return 0;
}

int cgf_layout_claim(const char *root)
{
	char p[512];
	uint32_t zero = 0, v = CGF_LAYOUT, have = 0;
	int fd, err = cgf_layout_check(root);

	if (err)
		return err;
	marker_path(root, p, sizeof(p));
	fd = bpf_obj_get(p);
	if (fd >= 0 && !bpf_map_lookup_elem(fd, &zero, &have) && have == v) {
		close(fd);
		return 0;		/* marked already */
	}
	if (fd < 0) {
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cgf_layout", sizeof(zero), sizeof(v), 1,
				    NULL);
		if (fd < 0)
			return cgf_error(-errno, "bpf: cannot create the pin layout map: %m");
		if (bpf_map_update_elem(fd, &zero, &v, BPF_ANY) || bpf_obj_pin(fd, p))
			err = cgf_error(-errno, "bpf: cannot pin %s: %m", p);
	} else if (bpf_map_update_elem(fd, &zero, &v, BPF_ANY)) {
		err = cgf_error(-errno, "bpf: cannot write %s: %m", p);
	}
	close(fd);
	return err;
}

void cgf_layout_release_if_empty(const char *root)
{
	DIR *d = opendir(root);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_type == DT_DIR && e->d_name[0] != '.') {
			closedir(d);
			return;		/* a policy is left */
		}
	closedir(d);
	marker_path(root, p, sizeof(p));
	unlink(p);
}
