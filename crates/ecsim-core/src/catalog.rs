//! What a fresh ecsim knows before anyone calls it: the regions of spec §4.6 with their zones,
//! the instance types it accepts, and the public system images seeded in every region.

use crate::model::{Architecture, BootMode, OsType};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionSeed {
    pub id: &'static str,
    pub local_name_en: &'static str,
    pub local_name_zh: &'static str,
    /// Zone letters; the zone ids are `{region}-{letter}`.
    pub zone_letters: &'static [&'static str],
}

pub const REGIONS: &[RegionSeed] = &[
    RegionSeed {
        id: "cn-qingdao",
        local_name_en: "China (Qingdao)",
        local_name_zh: "华北1（青岛）",
        zone_letters: &["b", "c"],
    },
    RegionSeed {
        id: "cn-beijing",
        local_name_en: "China (Beijing)",
        local_name_zh: "华北2（北京）",
        zone_letters: &["g", "h", "i", "j", "k", "l"],
    },
    RegionSeed {
        id: "cn-zhangjiakou",
        local_name_en: "China (Zhangjiakou)",
        local_name_zh: "华北3（张家口）",
        zone_letters: &["a", "b", "c"],
    },
    RegionSeed {
        id: "cn-huhehaote",
        local_name_en: "China (Hohhot)",
        local_name_zh: "华北5（呼和浩特）",
        zone_letters: &["a", "b"],
    },
    RegionSeed {
        id: "cn-hangzhou",
        local_name_en: "China (Hangzhou)",
        local_name_zh: "华东1（杭州）",
        zone_letters: &["g", "h", "i", "j", "k"],
    },
    RegionSeed {
        id: "cn-shanghai",
        local_name_en: "China (Shanghai)",
        local_name_zh: "华东2（上海）",
        zone_letters: &["e", "f", "g", "l", "m"],
    },
    RegionSeed {
        id: "cn-shenzhen",
        local_name_en: "China (Shenzhen)",
        local_name_zh: "华南1（深圳）",
        zone_letters: &["c", "d", "e", "f"],
    },
    RegionSeed {
        id: "cn-guangzhou",
        local_name_en: "China (Guangzhou)",
        local_name_zh: "华南3（广州）",
        zone_letters: &["a", "b"],
    },
    RegionSeed {
        id: "cn-chengdu",
        local_name_en: "China (Chengdu)",
        local_name_zh: "西南1（成都）",
        zone_letters: &["a", "b"],
    },
    RegionSeed {
        id: "cn-hongkong",
        local_name_en: "China (Hong Kong)",
        local_name_zh: "中国香港",
        zone_letters: &["b", "c", "d"],
    },
    RegionSeed {
        id: "ap-northeast-1",
        local_name_en: "Japan (Tokyo)",
        local_name_zh: "日本（东京）",
        zone_letters: &["a", "b", "c"],
    },
    RegionSeed {
        id: "ap-northeast-2",
        local_name_en: "South Korea (Seoul)",
        local_name_zh: "韩国（首尔）",
        zone_letters: &["a"],
    },
    RegionSeed {
        id: "ap-southeast-1",
        local_name_en: "Singapore",
        local_name_zh: "新加坡",
        zone_letters: &["a", "b", "c"],
    },
    RegionSeed {
        id: "ap-southeast-3",
        local_name_en: "Malaysia (Kuala Lumpur)",
        local_name_zh: "马来西亚（吉隆坡）",
        zone_letters: &["a", "b"],
    },
    RegionSeed {
        id: "ap-southeast-5",
        local_name_en: "Indonesia (Jakarta)",
        local_name_zh: "印度尼西亚（雅加达）",
        zone_letters: &["a", "b", "c"],
    },
    RegionSeed {
        id: "us-east-1",
        local_name_en: "US (Virginia)",
        local_name_zh: "美国（弗吉尼亚）",
        zone_letters: &["a", "b"],
    },
    RegionSeed {
        id: "us-west-1",
        local_name_en: "US (Silicon Valley)",
        local_name_zh: "美国（硅谷）",
        zone_letters: &["a", "b"],
    },
    RegionSeed {
        id: "eu-central-1",
        local_name_en: "Germany (Frankfurt)",
        local_name_zh: "德国（法兰克福）",
        zone_letters: &["a", "b"],
    },
    RegionSeed {
        id: "eu-west-1",
        local_name_en: "UK (London)",
        local_name_zh: "英国（伦敦）",
        zone_letters: &["a", "b"],
    },
    RegionSeed {
        id: "me-east-1",
        local_name_en: "UAE (Dubai)",
        local_name_zh: "阿联酋（迪拜）",
        zone_letters: &["a"],
    },
];

pub fn region(id: &str) -> Option<&'static RegionSeed> {
    REGIONS.iter().find(|r| r.id == id)
}

impl RegionSeed {
    pub fn zone_ids(&self) -> impl Iterator<Item = String> + '_ {
        self.zone_letters
            .iter()
            .map(move |l| format!("{}-{l}", self.id))
    }

    pub fn has_zone(&self, zone_id: &str) -> bool {
        zone_id
            .strip_prefix(self.id)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|letter| self.zone_letters.contains(&letter))
    }

    pub fn endpoint(&self) -> String {
        format!("ecs.{}.aliyuncs.com", self.id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceTypeSpec {
    pub id: &'static str,
    pub cpu: u32,
    pub memory_gib: u32,
    pub architecture: Architecture,
}

pub const INSTANCE_TYPES: &[InstanceTypeSpec] = &[
    InstanceTypeSpec {
        id: "ecs.t6-c1m1.large",
        cpu: 2,
        memory_gib: 2,
        architecture: Architecture::X86_64,
    },
    InstanceTypeSpec {
        id: "ecs.e-c1m2.large",
        cpu: 2,
        memory_gib: 4,
        architecture: Architecture::X86_64,
    },
    InstanceTypeSpec {
        id: "ecs.g6.large",
        cpu: 2,
        memory_gib: 8,
        architecture: Architecture::X86_64,
    },
    InstanceTypeSpec {
        id: "ecs.g7.large",
        cpu: 2,
        memory_gib: 8,
        architecture: Architecture::X86_64,
    },
    InstanceTypeSpec {
        id: "ecs.g7.xlarge",
        cpu: 4,
        memory_gib: 16,
        architecture: Architecture::X86_64,
    },
    InstanceTypeSpec {
        id: "ecs.g7.2xlarge",
        cpu: 8,
        memory_gib: 32,
        architecture: Architecture::X86_64,
    },
    InstanceTypeSpec {
        id: "ecs.c7.large",
        cpu: 2,
        memory_gib: 4,
        architecture: Architecture::X86_64,
    },
    InstanceTypeSpec {
        id: "ecs.r7.large",
        cpu: 2,
        memory_gib: 16,
        architecture: Architecture::X86_64,
    },
    InstanceTypeSpec {
        id: "ecs.g8i.large",
        cpu: 2,
        memory_gib: 8,
        architecture: Architecture::X86_64,
    },
    InstanceTypeSpec {
        id: "ecs.g8y.large",
        cpu: 2,
        memory_gib: 8,
        architecture: Architecture::Arm64,
    },
    InstanceTypeSpec {
        id: "ecs.c8y.large",
        cpu: 2,
        memory_gib: 4,
        architecture: Architecture::Arm64,
    },
];

pub fn instance_type(id: &str) -> Option<&'static InstanceTypeSpec> {
    INSTANCE_TYPES.iter().find(|t| t.id == id)
}

/// A public image as ECS lists it in every region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemImageSeed {
    pub id: &'static str,
    pub name: &'static str,
    pub os_name: &'static str,
    pub os_name_en: &'static str,
    pub os_type: OsType,
    pub platform: &'static str,
    pub architecture: Architecture,
    pub boot_mode: BootMode,
    pub size_gib: i64,
    pub family: &'static str,
    /// Publication date, which is also the image's CreationTime.
    pub released: &'static str,
}

pub const SYSTEM_IMAGES: &[SystemImageSeed] = &[
    SystemImageSeed {
        id: "aliyun_3_x64_20G_alibase_20240819.vhd",
        name: "aliyun_3_x64_20G_alibase_20240819.vhd",
        os_name: "Alibaba Cloud Linux  3.2104 LTS 64位",
        os_name_en: "Alibaba Cloud Linux  3.2104 LTS 64 bit",
        os_type: OsType::Linux,
        platform: "Aliyun",
        architecture: Architecture::X86_64,
        boot_mode: BootMode::UefiPreferred,
        size_gib: 20,
        family: "acs:alibaba_cloud_linux_3_2104_lts_x64",
        released: "2024-08-19T03:25:18Z",
    },
    SystemImageSeed {
        id: "aliyun_3_arm64_20G_alibase_20240819.vhd",
        name: "aliyun_3_arm64_20G_alibase_20240819.vhd",
        os_name: "Alibaba Cloud Linux  3.2104 LTS 64位 ARM版",
        os_name_en: "Alibaba Cloud Linux  3.2104 LTS 64 bit ARM Edition",
        os_type: OsType::Linux,
        platform: "Aliyun",
        architecture: Architecture::Arm64,
        boot_mode: BootMode::Uefi,
        size_gib: 20,
        family: "acs:alibaba_cloud_linux_3_2104_lts_arm64",
        released: "2024-08-19T03:31:40Z",
    },
    SystemImageSeed {
        id: "ubuntu_22_04_x64_20G_alibase_20240926.vhd",
        name: "ubuntu_22_04_x64_20G_alibase_20240926.vhd",
        os_name: "Ubuntu  22.04 64位",
        os_name_en: "Ubuntu  22.04 64 bit",
        os_type: OsType::Linux,
        platform: "Ubuntu",
        architecture: Architecture::X86_64,
        boot_mode: BootMode::UefiPreferred,
        size_gib: 20,
        family: "acs:ubuntu_22_04_x64",
        released: "2024-09-26T06:42:11Z",
    },
    SystemImageSeed {
        id: "ubuntu_24_04_x64_20G_alibase_20240923.vhd",
        name: "ubuntu_24_04_x64_20G_alibase_20240923.vhd",
        os_name: "Ubuntu  24.04 64位",
        os_name_en: "Ubuntu  24.04 64 bit",
        os_type: OsType::Linux,
        platform: "Ubuntu",
        architecture: Architecture::X86_64,
        boot_mode: BootMode::UefiPreferred,
        size_gib: 20,
        family: "acs:ubuntu_24_04_x64",
        released: "2024-09-23T08:01:52Z",
    },
    SystemImageSeed {
        id: "debian_12_7_x64_20G_alibase_20240927.vhd",
        name: "debian_12_7_x64_20G_alibase_20240927.vhd",
        os_name: "Debian  12.7 64位",
        os_name_en: "Debian  12.7 64 bit",
        os_type: OsType::Linux,
        platform: "Debian",
        architecture: Architecture::X86_64,
        boot_mode: BootMode::UefiPreferred,
        size_gib: 20,
        family: "acs:debian_12_x64",
        released: "2024-09-27T02:13:45Z",
    },
    SystemImageSeed {
        id: "centos_7_9_x64_20G_alibase_20240628.vhd",
        name: "centos_7_9_x64_20G_alibase_20240628.vhd",
        os_name: "CentOS  7.9 64位",
        os_name_en: "CentOS  7.9 64 bit",
        os_type: OsType::Linux,
        platform: "CentOS",
        architecture: Architecture::X86_64,
        boot_mode: BootMode::Bios,
        size_gib: 20,
        family: "acs:centos_7_9_x64",
        released: "2024-06-28T09:37:02Z",
    },
    SystemImageSeed {
        id: "anolisos_8_9_x64_20G_rhck_alibase_20240724.vhd",
        name: "anolisos_8_9_x64_20G_rhck_alibase_20240724.vhd",
        os_name: "Anolis OS  8.9 RHCK 64位",
        os_name_en: "Anolis OS  8.9 RHCK 64 bit",
        os_type: OsType::Linux,
        platform: "Anolis",
        architecture: Architecture::X86_64,
        boot_mode: BootMode::UefiPreferred,
        size_gib: 20,
        family: "acs:anolis_8_9_rhck_x64",
        released: "2024-07-24T05:55:31Z",
    },
    SystemImageSeed {
        id: "rockylinux_9_4_x64_20G_alibase_20240709.vhd",
        name: "rockylinux_9_4_x64_20G_alibase_20240709.vhd",
        os_name: "Rocky Linux  9.4 64位",
        os_name_en: "Rocky Linux  9.4 64 bit",
        os_type: OsType::Linux,
        platform: "Rocky Linux",
        architecture: Architecture::X86_64,
        boot_mode: BootMode::UefiPreferred,
        size_gib: 20,
        family: "acs:rockylinux_9_4_x64",
        released: "2024-07-09T07:20:14Z",
    },
    SystemImageSeed {
        id: "win2022_21H2_x64_dtc_en-us_40G_alibase_20240919.vhd",
        name: "win2022_21H2_x64_dtc_en-us_40G_alibase_20240919.vhd",
        os_name: "Windows Server  2022 数据中心版 64位英文版",
        os_name_en: "Windows Server  2022 Data Center Edition 64bit English Edition",
        os_type: OsType::Windows,
        platform: "Windows Server 2022",
        architecture: Architecture::X86_64,
        boot_mode: BootMode::UefiPreferred,
        size_gib: 40,
        family: "acs:windows_server_2022_dtc_en_us",
        released: "2024-09-19T10:02:57Z",
    },
    SystemImageSeed {
        id: "win2019_1809_x64_dtc_zh-cn_40G_alibase_20240919.vhd",
        name: "win2019_1809_x64_dtc_zh-cn_40G_alibase_20240919.vhd",
        os_name: "Windows Server  2019 数据中心版 64位中文版",
        os_name_en: "Windows Server  2019 Data Center Edition 64bit Chinese Edition",
        os_type: OsType::Windows,
        platform: "Windows Server 2019",
        architecture: Architecture::X86_64,
        boot_mode: BootMode::Bios,
        size_gib: 40,
        family: "acs:windows_server_2019_dtc_zh_cn",
        released: "2024-09-19T09:48:05Z",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_of_the_spec_is_seeded_with_zones() {
        assert_eq!(REGIONS.len(), 20);
        for r in REGIONS {
            assert!(!r.zone_letters.is_empty(), "{} has no zones", r.id);
            for z in r.zone_ids() {
                assert!(r.has_zone(&z));
            }
        }
        let hz = region("cn-hangzhou").unwrap();
        assert!(hz.has_zone("cn-hangzhou-h"));
        assert!(!hz.has_zone("cn-hangzhou-z"));
        assert!(!hz.has_zone("cn-shanghai-e"));
    }

    #[test]
    fn system_image_ids_follow_the_public_grammar_and_dates_parse() {
        for img in SYSTEM_IMAGES {
            assert!(
                img.id.ends_with(".vhd") && img.id.contains("_alibase_")
                    || img.id.contains("alibase")
            );
            assert!(
                crate::clock::parse_time(img.released).is_some(),
                "{}",
                img.id
            );
            assert!(img.id.contains(&format!("_{}G_", img.size_gib)));
        }
    }
}
