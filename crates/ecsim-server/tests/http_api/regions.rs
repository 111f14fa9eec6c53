//! DescribeRegions and DescribeZones (spec §4.6).

use crate::support::*;
use ecsim_core::catalog::REGIONS;
use serde_json::Value;

fn region<'a>(body: &'a Value, id: &str) -> &'a Value {
    body["Regions"]["Region"]
        .as_array()
        .expect("Region is an array")
        .iter()
        .find(|r| r["RegionId"] == id)
        .unwrap_or_else(|| panic!("{id} missing: {body}"))
}

#[tokio::test]
async fn describe_regions_needs_no_region_and_speaks_three_languages() {
    let app = TestApp::start();
    let body = app.call("DescribeRegions").send().await.ok();
    let regions = body["Regions"]["Region"].as_array().expect("array");
    assert_eq!(regions.len(), REGIONS.len(), "{body}");
    let hz = region(&body, REGION);
    assert_eq!(hz["LocalName"], "华东1（杭州）");
    assert_eq!(hz["RegionEndpoint"], HOST);
    assert_eq!(hz["Status"], "available");
    for lang in ["en-US", "ja"] {
        let body = app
            .call("DescribeRegions")
            .param("AcceptLanguage", lang)
            .send()
            .await
            .ok();
        assert_eq!(region(&body, REGION)["LocalName"], "China (Hangzhou)");
    }
    // A valid RegionId is accepted too.
    app.call("DescribeRegions").region().send().await.ok();
}

#[tokio::test]
async fn describe_regions_errors() {
    let app = TestApp::start();
    app.call("DescribeRegions")
        .param("AcceptLanguage", "xx")
        .send()
        .await
        .err_msg(
            404,
            "InvalidAcceptLanguage.NotFound",
            "Only Chinese (zh-CN), English (en-US), and Japanese (ja) are allowed.",
        );
    app.call("DescribeRegions")
        .param("ResourceType", "spaceship")
        .send()
        .await
        .err(404, "InvalidResourceType.NotFound");
}

#[tokio::test]
async fn describe_zones_lists_the_regions_zones() {
    let app = TestApp::start();
    let body = app
        .call("DescribeZones")
        .region()
        .param("AcceptLanguage", "en-US")
        .send()
        .await
        .ok();
    let zones = body["Zones"]["Zone"].as_array().expect("Zone is an array");
    let ids: Vec<String> = zones.iter().map(|z| str_of(&z["ZoneId"])).collect();
    let expected: Vec<String> = ecsim_core::catalog::region(REGION)
        .expect("catalog region")
        .zone_ids()
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(zones[0]["LocalName"], "Hangzhou Zone G");
    assert!(
        zones[0]["AvailableInstanceTypes"]["InstanceTypes"]
            .as_array()
            .is_some_and(|t| t.iter().any(|x| x == X86_TYPE)),
        "{body}"
    );
    app.call("DescribeZones")
        .send()
        .await
        .err(400, "MissingRegionId");
    app.call("DescribeZones")
        .param("RegionId", "cn-atlantis")
        .send()
        .await
        .err(404, "InvalidRegionId.NotFound");
    app.call("DescribeZones")
        .region()
        .param("AcceptLanguage", "xx")
        .send()
        .await
        .err(404, "InvalidAcceptLanguage.NotFound");
}
