// SPDX-License-Identifier: GPL-2.0
/*
 * Which features the guest uses: the load-time `features=` parameter (what
 * the user wants) and one run-time toggle per implemented feature in
 * /sys/kernel/pvscale_guest/features/<name>. A feature is enabled only
 * while the host offers it; enabling installs its hooks, disabling
 * restores the kernel's own path before the write returns.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sysfs.h>
#include "pvscale_guest.h"

/* One line per implemented feature; the bit is its PVSCALE_F_* number. */
static const struct pvg_feature {
	const char *name;
	unsigned int bit;
	int (*enable)(void);
	void (*disable)(void);
} pvg_features[] = {
	{ "tlb", PVSCALE_F_TLB, pvg_tlb_enable, pvg_tlb_disable },
	{ "tlb_hostflush", PVSCALE_F_TLB_HOSTFLUSH,
	  pvg_tlb_hostflush_enable, pvg_tlb_hostflush_disable },
	{ "ipi", PVSCALE_F_IPI, pvg_ipi_enable, pvg_ipi_disable },
};

static DEFINE_MUTEX(pvg_features_lock);
static unsigned int pvg_wanted = ~0u;	/* features= at load */
static unsigned int pvg_enabled;

static unsigned int pvg_implemented(void)
{
	unsigned int mask = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(pvg_features); i++)
		mask |= 1u << pvg_features[i].bit;
	return mask;
}

u32 pvg_enabled_features(void)
{
	return READ_ONCE(pvg_enabled);
}

static int features_param_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;

	if (kstrtouint(val, 0, &v)) {
		pr_err("features=%s: not a number\n", val);
		return -EINVAL;
	}
	if (v & ~pvg_implemented()) {
		pr_err("features=%#x: this build implements only %#x\n",
		       v, pvg_implemented());
		return -EINVAL;
	}
	pvg_wanted = v;
	return 0;
}

static const struct kernel_param_ops features_param_ops = {
	.set = features_param_set,
	.get = param_get_hexint,
};
module_param_cb(features, &features_param_ops, &pvg_wanted, 0444);
MODULE_PARM_DESC(features, "Features to use at load, if the host offers them: hex mask of PVSCALE_F_* bits (default: all)");

/* Called with pvg_features_lock held. */
static int pvg_feature_set(const struct pvg_feature *f, bool on)
{
	unsigned int bit = 1u << f->bit;
	int ret;

	if (on == !!(pvg_enabled & bit))
		return 0;
	if (on) {
		if (!(pvg_host_features() & bit))
			return -EOPNOTSUPP;
		ret = f->enable();
		if (ret)
			return ret;
		WRITE_ONCE(pvg_enabled, pvg_enabled | bit);
	} else {
		WRITE_ONCE(pvg_enabled, pvg_enabled & ~bit);
		f->disable();
	}
	pvg_publish_features(pvg_enabled);
	pr_info("feature %s %s\n", f->name, on ? "on" : "off");
	return 0;
}

struct pvg_feature_attr {
	struct kobj_attribute attr;
	const struct pvg_feature *f;
};

static ssize_t pvg_toggle_show(struct kobject *k, struct kobj_attribute *a,
			       char *buf)
{
	struct pvg_feature_attr *fa = container_of(a, struct pvg_feature_attr, attr);

	return sysfs_emit(buf, "%d\n", !!(pvg_enabled_features() & (1u << fa->f->bit)));
}

static ssize_t pvg_toggle_store(struct kobject *k, struct kobj_attribute *a,
				const char *buf, size_t len)
{
	struct pvg_feature_attr *fa = container_of(a, struct pvg_feature_attr, attr);
	bool on;
	int ret;

	if (kstrtobool(buf, &on))
		return -EINVAL;
	mutex_lock(&pvg_features_lock);
	ret = pvg_feature_set(fa->f, on);
	mutex_unlock(&pvg_features_lock);
	if (ret == -EOPNOTSUPP)
		pr_warn("feature %s: the host does not offer it\n", fa->f->name);
	return ret ? ret : len;
}

static struct pvg_feature_attr pvg_feature_attrs[ARRAY_SIZE(pvg_features)];
static struct attribute *pvg_toggle_attrs[ARRAY_SIZE(pvg_features) + 1];

static const struct attribute_group pvg_toggle_group = {
	.name = "features",
	.attrs = pvg_toggle_attrs,
};

/* Enable what the user wants and the host offers; needs registered pages. */
int pvg_features_init(struct kobject *kobj)
{
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(pvg_features); i++) {
		struct pvg_feature_attr *fa = &pvg_feature_attrs[i];

		fa->f = &pvg_features[i];
		sysfs_attr_init(&fa->attr.attr);
		fa->attr.attr.name = fa->f->name;
		fa->attr.attr.mode = 0644;
		fa->attr.show = pvg_toggle_show;
		fa->attr.store = pvg_toggle_store;
		pvg_toggle_attrs[i] = &fa->attr.attr;
	}
	ret = sysfs_create_group(kobj, &pvg_toggle_group);
	if (ret)
		return ret;
	mutex_lock(&pvg_features_lock);
	for (i = 0; i < ARRAY_SIZE(pvg_features); i++) {
		if (!(pvg_wanted & (1u << pvg_features[i].bit)))
			continue;
		ret = pvg_feature_set(&pvg_features[i], true);
		if (ret)
			pr_info("feature %s not enabled (%d)\n",
				pvg_features[i].name, ret);
	}
	mutex_unlock(&pvg_features_lock);
	return 0;
}

void pvg_features_exit(struct kobject *kobj)
{
	int i;

	sysfs_remove_group(kobj, &pvg_toggle_group);
	mutex_lock(&pvg_features_lock);
	for (i = 0; i < ARRAY_SIZE(pvg_features); i++)
		pvg_feature_set(&pvg_features[i], false);
	mutex_unlock(&pvg_features_lock);
}
