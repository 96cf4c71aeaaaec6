// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cgroup paths from OCI cgroupsPath, and container ids from cgroup names,
 * with the layouts of Docker, containerd, CRI-O and podman. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "container.h"

#define ID "3f2b1c0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c"

static void path_is(const char *in, const char *want)
{
	char out[512];
	const char *why = NULL;

	if (cgf_oci_cgroup_path(in, out, sizeof(out), &why))
		fail_msg("%s: %s", in, why);
	assert_string_equal(out, want);
}

static void path_bad(const char *in)
{
	char out[512];
	const char *why = NULL;

	assert_int_equal(cgf_oci_cgroup_path(in, out, sizeof(out), &why), -EINVAL);
	assert_non_null(why);
}

static void test_systemd_driver(void **state)
{
	(void)state;
	/* Docker with the systemd cgroup driver */
	path_is("system.slice:docker:" ID, "system.slice/docker-" ID ".scope");
	/* containerd (CRI) in a Kubernetes pod */
	path_is("kubepods-besteffort-pod7f0e5a2c_1b3d_4f6a_9c8e_2d4b6a8c0e1f.slice:cri-containerd:" ID,
		"kubepods.slice/kubepods-besteffort.slice/"
		"kubepods-besteffort-pod7f0e5a2c_1b3d_4f6a_9c8e_2d4b6a8c0e1f.slice/cri-containerd-" ID
		".scope");
	/* CRI-O, guaranteed QoS: directly under kubepods.slice */
	path_is("kubepods-pod11111111_2222_3333_4444_555555555555.slice:crio:" ID,
		"kubepods.slice/kubepods-pod11111111_2222_3333_4444_555555555555.slice/crio-" ID
		".scope");
	/* podman (root) */
	path_is("machine.slice:libpod:" ID, "machine.slice/libpod-" ID ".scope");
	/* the root slice, and a name that is a slice itself */
	path_is("-.slice:docker:" ID, "docker-" ID ".scope");
	path_is("system.slice:x:my.slice", "system.slice/my.slice");
	path_bad("system.slice:docker");
	path_bad("system:docker:" ID);
	path_bad("a--b.slice:docker:" ID);
	path_bad("system.slice:docker:../x");
	path_bad("");
}

static void test_cgroupfs_driver(void **state)
{
	(void)state;
	path_is("/docker/" ID, "docker/" ID);
	path_is("/kubepods/besteffort/pod7f0e5a2c-1b3d-4f6a-9c8e-2d4b6a8c0e1f/" ID,
		"kubepods/besteffort/pod7f0e5a2c-1b3d-4f6a-9c8e-2d4b6a8c0e1f/" ID);
	path_is("relative/" ID, "relative/" ID);
	path_bad("/docker/../etc");
}

static void test_ids_from_names(void **state)
{
	char id[130];

	(void)state;
	assert_true(cgf_container_id_of("docker-" ID ".scope", id, sizeof(id)));
	assert_string_equal(id, ID);
	assert_true(cgf_container_id_of("cri-containerd-" ID ".scope", id, sizeof(id)));
	assert_true(cgf_container_id_of("crio-" ID ".scope", id, sizeof(id)));
	assert_true(cgf_container_id_of("libpod-" ID ".scope", id, sizeof(id)));
	assert_true(cgf_container_id_of(ID, id, sizeof(id)));	/* cgroupfs */
	assert_true(cgf_container_id_of("libpod-" ID, id, sizeof(id)));	/* podman, cgroupfs */
	assert_string_equal(id, ID);
	assert_false(cgf_container_id_of("libpod-" ID "0", id, sizeof(id)));
	assert_false(cgf_container_id_of("crio-conmon-" ID ".scope", id, sizeof(id)));
	assert_false(cgf_container_id_of("docker.service", id, sizeof(id)));
	assert_false(cgf_container_id_of("kubepods-besteffort.slice", id, sizeof(id)));
	assert_false(cgf_container_id_of("docker-xyz.scope", id, sizeof(id)));
	assert_false(cgf_container_id_of("system.slice", id, sizeof(id)));
}

/* contrib/oci/cgfence-*.json: well-formed OCI hooks.d files that run cgfence on the
 * annotation, at the stage their name says */
static void hooks_file(const char *path, const char *stage)
{
	json_object *o = json_object_from_file(path), *hook, *args, *when, *ann, *stages;

	if (!o)
		fail_msg("%s: not valid JSON", path);
	assert_true(json_object_object_get_ex(o, "hook", &hook));
	assert_true(json_object_object_get_ex(hook, "args", &args));
	assert_string_equal(json_object_get_string(json_object_array_get_idx(args, 1)), "oci-hook");
	assert_true(json_object_object_get_ex(o, "when", &when));
	assert_true(json_object_object_get_ex(when, "annotations", &ann));
	assert_true(json_object_object_get_ex(ann, "^cgfence\\.io/policy$", NULL));
	assert_true(json_object_object_get_ex(o, "stages", &stages));
	assert_string_equal(json_object_get_string(json_object_array_get_idx(stages, 0)), stage);
	json_object_put(o);
}

static void test_hooks_files(void **state)
{
	(void)state;
	hooks_file("contrib/oci/cgfence-create.json", "prestart");
	hooks_file("contrib/oci/cgfence-poststop.json", "poststop");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_systemd_driver),
		cmocka_unit_test(test_cgroupfs_driver),
		cmocka_unit_test(test_ids_from_names),
		cmocka_unit_test(test_hooks_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
