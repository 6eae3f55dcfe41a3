// SPDX-License-Identifier: GPL-2.0
/*
 * Which features the host offers: the load-time `features=` parameter and
 * one run-time toggle per implemented feature in
 * /sys/kernel/pvscale_host/features/<name>. A toggle takes effect at once:
 * every registered page's host_features is rewritten before the write
 * returns, and new PROBEs see the new mask.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sysfs.h>
#include "pvscale_host.h"

/* One line per implemented feature; the bit is its PVSCALE_F_* number. */
static const struct pvs_feature {
	const char *name;
	unsigned int bit;
} pvs_features[] = {
	{ "tlb", PVSCALE_F_TLB },
	{ "tlb_hostflush", PVSCALE_F_TLB_HOSTFLUSH },
	{ "ipi", PVSCALE_F_IPI },
};

static DEFINE_MUTEX(pvs_features_lock);
static unsigned int pvs_enabled;
static bool pvs_param_given;	/* else every implemented feature is on */
static bool pvs_features_live;	/* registrations may exist: publish */

static unsigned int pvs_implemented(void)
{
	unsigned int mask = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(pvs_features); i++)
		mask |= 1u << pvs_features[i].bit;
	return mask;
}

u32 pvs_offered_features(void)
{
	return READ_ONCE(pvs_enabled);
}

bool pvs_feature_on(unsigned int bit)
{
	return READ_ONCE(pvs_enabled) & (1u << bit);
}

/* The features in @clear go off and those in @set on, as one update. */
static void pvs_features_update(unsigned int clear, unsigned int set)
{
	unsigned int mask;

	mutex_lock(&pvs_features_lock);
	mask = (pvs_enabled & ~clear) | set;
	WRITE_ONCE(pvs_enabled, mask);
	if (pvs_features_live)
		pvs_vm_publish_features(mask);
	mutex_unlock(&pvs_features_lock);
}

static int features_param_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;

	if (kstrtouint(val, 0, &v)) {
		pr_err("features=%s: not a number\n", val);
		return -EINVAL;
	}
	if (v & ~pvs_implemented()) {
		pr_err("features=%#x: this build implements only %#x\n",
		       v, pvs_implemented());
		return -EINVAL;
	}
	pvs_param_given = true;
	pvs_features_update(~0u, v);
	return 0;
}

static int features_param_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "0x%x\n", pvs_offered_features());
}

static const struct kernel_param_ops features_param_ops = {
	.set = features_param_set,
	.get = features_param_get,
};
module_param_cb(features, &features_param_ops, NULL, 0444);
MODULE_PARM_DESC(features, "Features to offer at load: hex mask of PVSCALE_F_* bits (default: all implemented)");

struct pvs_feature_attr {
	struct kobj_attribute attr;
	const struct pvs_feature *f;
};

static ssize_t pvs_toggle_show(struct kobject *k, struct kobj_attribute *a,
			       char *buf)
{
	struct pvs_feature_attr *fa = container_of(a, struct pvs_feature_attr, attr);

	return sysfs_emit(buf, "%d\n", pvs_feature_on(fa->f->bit));
}

static ssize_t pvs_toggle_store(struct kobject *k, struct kobj_attribute *a,
				const char *buf, size_t len)
{
	struct pvs_feature_attr *fa = container_of(a, struct pvs_feature_attr, attr);
	unsigned int bit = 1u << fa->f->bit;
	bool on;

	if (kstrtobool(buf, &on))
		return -EINVAL;
	pvs_features_update(bit, on ? bit : 0);
	pr_info("feature %s %s\n", fa->f->name, on ? "on" : "off");
	return len;
}

static struct pvs_feature_attr pvs_feature_attrs[ARRAY_SIZE(pvs_features)];
static struct attribute *pvs_toggle_attrs[ARRAY_SIZE(pvs_features) + 1];

static const struct attribute_group pvs_toggle_group = {
	.name = "features",
	.attrs = pvs_toggle_attrs,
};

int pvs_features_init(void)
{
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(pvs_features); i++) {
		struct pvs_feature_attr *fa = &pvs_feature_attrs[i];

		fa->f = &pvs_features[i];
		sysfs_attr_init(&fa->attr.attr);
		fa->attr.attr.name = fa->f->name;
		fa->attr.attr.mode = 0644;
		fa->attr.show = pvs_toggle_show;
		fa->attr.store = pvs_toggle_store;
		pvs_toggle_attrs[i] = &fa->attr.attr;
	}
	ret = sysfs_create_group(pvs_kobj, &pvs_toggle_group);
	if (ret)
		return ret;
	if (!pvs_param_given)
		pvs_features_update(~0u, pvs_implemented());
	mutex_lock(&pvs_features_lock);
	pvs_features_live = true;
	mutex_unlock(&pvs_features_lock);
	return 0;
}

void pvs_features_exit(void)
{
	mutex_lock(&pvs_features_lock);
	pvs_features_live = false;
	mutex_unlock(&pvs_features_lock);
	sysfs_remove_group(pvs_kobj, &pvs_toggle_group);
}
