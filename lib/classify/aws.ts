// AWS names are grouped by service: "ec2.amazonaws.com", "s3.amazonaws.com". AWS endpoint
// names put the service label (the SDK's endpoint prefix) right of any resource labels
// (bucket, load balancer, account id) and left of the location labels (region, dualstack,
// vpce), e.g. bucket.s3.dualstack.us-east-1 or vpce-0abc.ec2.us-east-1.vpce. So the
// service is the first label, reading from the right, that is not a location or id label,
// with "-fips" and an embedded "-<region>" removed; a short ordered table then maps the
// non-service label forms AWS uses (compute, queue, s3-website, ...) to the service.

/** Names under these suffixes are AWS service endpoints (commercial, GovCloud, China). */
const AWS_SUFFIX = /(?:^|\.)amazonaws\.com(?:\.cn)?$/;

/**
 * A region code, optionally with an availability-zone letter: us-east-1, eu-central-2,
 * cn-north-1, us-gov-west-1, us-iso-east-1, us-isob-east-1, eu-isoe-west-1, us-east-1a.
 */
const REGION = '[a-z]{2}(?:-gov|-iso[a-z]?)?-(?:north|south|east|west|central|northeast|northwest|southeast|southwest)-\\d{1,2}[a-z]?';
const REGION_LABEL = new RegExp(`^${REGION}$`);
const EMBEDDED_REGION = new RegExp(`-${REGION}$`);

/** Labels that say where or how, never which service. */
function isLocationOrIdLabel(label: string): boolean {
  return (
    REGION_LABEL.test(label) ||
    label === 'dualstack' ||
    label === 'fips' ||
    label === 'vpce' || // interface VPC endpoint zone: <id>.<service>.<region>.vpce.amazonaws.com
    label.startsWith('vpce-') || // endpoint ids vpce-0abc..., endpoint services vpce-svc-0abc...
    /^\d{12}$/.test(label) // account id: 123456789012.dkr.ecr..., <acct>.s3-control...
  );
}

interface ServiceRule {
  test: RegExp;
  service: string;
  why: string;
}

/** Ordered: the first rule whose pattern matches the service label wins. */
export const AWS_SERVICE_RULES: readonly ServiceRule[] = Object.freeze([
  {
    test: /^compute(?:-\d+)?$/,
    service: 'ec2',
    why: 'EC2 public DNS: ec2-a-b-c-d.compute-1 (us-east-1) and ec2-a-b-c-d.<region>.compute',
  },
  { test: /^ec2-\d+-\d+-\d+-\d+$/, service: 'ec2', why: 'an EC2 public DNS label on its own' },
  {
    test: /^s3(?:express)?(?:-.+)?$/,
    service: 's3',
    why: 's3-website, s3-accesspoint, s3-control, s3-object-lambda, s3-global, s3-external-1, legacy s3-<region>; ' +
      'S3 Express One Zone s3express-<zone id> and s3express-control',
  },
  {
    test: /^ddb$/,
    service: 'dynamodb',
    why: 'DynamoDB account-based endpoints <account id>.ddb.<region> (the SDKs use them by default since 2024)',
  },
  { test: /^queue$/, service: 'sqs', why: 'legacy SQS endpoints queue.amazonaws.com, <region>.queue.amazonaws.com' },
  { test: /^ecs-[a-z]-\d+$/, service: 'ecs', why: 'ECS agent endpoints ecs-a-1.<region>, ecs-t-1.<region>' },
]);

/** The service label as written, minus a "-fips" and an embedded region suffix. */
function baseLabel(label: string): string {
  let l = label.replace(EMBEDDED_REGION, '');
  if (l.endsWith('-fips')) l = l.slice(0, -5);
  return l.replace(EMBEDDED_REGION, '');
}

/**
 * `<service>.amazonaws.com` for a normalised name under amazonaws.com or amazonaws.com.cn
 * (China names join their global service group); undefined for any other name, and for the
 * bare suffix, which groups as its registrable domain.
 */
export function awsServiceGroup(name: string): string | undefined {
  const m = AWS_SUFFIX.exec(name);
  if (m === null || m.index === 0) return undefined;
  const labels = name.slice(0, m.index).split('.');
  let sawVpce = false;
  for (let i = labels.length - 1; i >= 0; i--) {
    const label = labels[i];
    if (label === '') continue;
    if (isLocationOrIdLabel(label)) {
      if (label.startsWith('vpce')) sawVpce = true;
      continue;
    }
    const base = baseLabel(label);
    for (const rule of AWS_SERVICE_RULES) {
      if (rule.test.test(base)) return `${rule.service}.amazonaws.com`;
    }
    return `${base}.amazonaws.com`;
  }
  // Only location / id labels: an endpoint-service (PrivateLink) name, or a bare region.
  return sawVpce ? 'vpce.amazonaws.com' : undefined;
}
