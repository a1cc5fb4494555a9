// Domain grouping: eTLD+1 from the ICANN section of the Public Suffix List, AWS names by
// service. The AWS names are real endpoint forms from the AWS endpoint documentation.
import assert from 'node:assert/strict';
import { domainGroup, registeredDomain, awsServiceGroup } from '../../lib/classify/index.js';

// [host name, expected group]
const AWS_TABLE: [string, string][] = [
  ['ec2-3-4-5-6.compute-1.amazonaws.com', 'ec2.amazonaws.com'],
  ['ec2-3-4-5-6.us-west-2.compute.amazonaws.com', 'ec2.amazonaws.com'],
  ['ec2-52-80-1-1.cn-north-1.compute.amazonaws.com.cn', 'ec2.amazonaws.com'],
  ['ec2.us-east-1.amazonaws.com', 'ec2.amazonaws.com'],
  ['ec2.cn-north-1.amazonaws.com.cn', 'ec2.amazonaws.com'],
  ['bucket.s3.us-west-2.amazonaws.com', 's3.amazonaws.com'],
  ['bucket.s3.amazonaws.com', 's3.amazonaws.com'],
  ['s3.amazonaws.com', 's3.amazonaws.com'],
  ['s3.dualstack.eu-west-1.amazonaws.com', 's3.amazonaws.com'],
  ['bucket.s3-website-us-east-1.amazonaws.com', 's3.amazonaws.com'],
  ['bucket.s3-website.eu-central-1.amazonaws.com', 's3.amazonaws.com'],
  ['s3-fips.us-east-1.amazonaws.com', 's3.amazonaws.com'],
  ['s3-fips.dualstack.us-gov-west-1.amazonaws.com', 's3.amazonaws.com'],
  ['bucket.s3-accesspoint.us-east-1.amazonaws.com', 's3.amazonaws.com'],
  ['s3.us-east-1.amazonaws.com', 's3.amazonaws.com'],
  ['mybucket.s3.dualstack.us-east-1.amazonaws.com', 's3.amazonaws.com'],
  ['s3-us-west-2.amazonaws.com', 's3.amazonaws.com'],
  ['s3-external-1.amazonaws.com', 's3.amazonaws.com'],
  ['123456789012.s3-control.us-east-1.amazonaws.com', 's3.amazonaws.com'],
  ['mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com', 's3.amazonaws.com'],
  ['prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com', 's3.amazonaws.com'],
  ['s3.cn-northwest-1.amazonaws.com.cn', 's3.amazonaws.com'],
  ['sqs.eu-west-1.amazonaws.com', 'sqs.amazonaws.com'],
  ['queue.amazonaws.com', 'sqs.amazonaws.com'],
  ['eu-west-1.queue.amazonaws.com', 'sqs.amazonaws.com'],
  ['dynamodb.us-east-1.amazonaws.com', 'dynamodb.amazonaws.com'],
  ['streams.dynamodb.us-east-1.amazonaws.com', 'dynamodb.amazonaws.com'],
  ['sts.amazonaws.com', 'sts.amazonaws.com'],
  ['sts.us-east-1.amazonaws.com', 'sts.amazonaws.com'],
  ['sts-fips.us-east-2.amazonaws.com', 'sts.amazonaws.com'],
  ['lambda.us-east-1.amazonaws.com', 'lambda.amazonaws.com'],
  ['ecr.us-east-1.amazonaws.com', 'ecr.amazonaws.com'],
  ['123456789012.dkr.ecr.us-east-1.amazonaws.com', 'ecr.amazonaws.com'],
  ['api.ecr.us-east-1.amazonaws.com', 'ecr.amazonaws.com'],
  ['ecr-fips.us-gov-west-1.amazonaws.com', 'ecr.amazonaws.com'],
  ['my-lb-123.us-east-1.elb.amazonaws.com', 'elb.amazonaws.com'],
  ['internal-x.eu-west-1.elb.amazonaws.com', 'elb.amazonaws.com'],
  ['net-lb-abc.elb.us-east-1.amazonaws.com', 'elb.amazonaws.com'],
  ['dualstack.my-lb-123.us-east-1.elb.amazonaws.com', 'elb.amazonaws.com'],
  ['abc123.execute-api.us-east-1.amazonaws.com', 'execute-api.amazonaws.com'],
  ['kms-fips.us-east-1.amazonaws.com', 'kms.amazonaws.com'],
  ['kms.eu-central-2.amazonaws.com', 'kms.amazonaws.com'],
  ['vpce-0abc-xyz.s3.us-east-1.vpce.amazonaws.com', 's3.amazonaws.com'],
  ['bucket.vpce-0abc-xyz.s3.us-east-1.vpce.amazonaws.com', 's3.amazonaws.com'],
  ['vpce-0abc.ec2.us-east-1.vpce.amazonaws.com', 'ec2.amazonaws.com'],
  ['vpce-0abc-xyz-us-east-1a.ec2.us-east-1.vpce.amazonaws.com', 'ec2.amazonaws.com'],
  ['vpce-0123-abc.vpce-svc-0456def.us-east-1.vpce.amazonaws.com', 'vpce.amazonaws.com'],
  ['monitoring.us-east-1.amazonaws.com', 'monitoring.amazonaws.com'],
  ['logs.us-east-1.amazonaws.com', 'logs.amazonaws.com'],
  ['ssm.us-east-1.amazonaws.com', 'ssm.amazonaws.com'],
  ['ec2messages.us-east-1.amazonaws.com', 'ec2messages.amazonaws.com'],
  ['ssmmessages.us-east-1.amazonaws.com', 'ssmmessages.amazonaws.com'],
  ['secretsmanager.us-east-1.amazonaws.com', 'secretsmanager.amazonaws.com'],
  ['iam.amazonaws.com', 'iam.amazonaws.com'],
  ['iam.cn-north-1.amazonaws.com.cn', 'iam.amazonaws.com'],
  ['route53.amazonaws.com', 'route53.amazonaws.com'],
  ['cognito-idp.us-east-1.amazonaws.com', 'cognito-idp.amazonaws.com'],
  ['mydb.abc123xyz.us-east-1.rds.amazonaws.com', 'rds.amazonaws.com'],
  ['search-mydomain-abc123.us-east-1.es.amazonaws.com', 'es.amazonaws.com'],
  ['abcdef0123456789.gr7.us-east-1.eks.amazonaws.com', 'eks.amazonaws.com'],
  ['a1b2c3-ats.iot.us-east-1.amazonaws.com', 'iot.amazonaws.com'],
  ['b-1.mycluster.abc123.c2.kafka.us-east-1.amazonaws.com', 'kafka.amazonaws.com'],
  ['fs-12345678.efs.us-east-1.amazonaws.com', 'efs.amazonaws.com'],
  ['my-domain-111122223333.d.codeartifact.us-east-1.amazonaws.com', 'codeartifact.amazonaws.com'],
  ['ecs-a-1.us-east-1.amazonaws.com', 'ecs.amazonaws.com'],
  ['ecs-t-1.us-east-1.amazonaws.com', 'ecs.amazonaws.com'],
  ['ecs.us-east-1.amazonaws.com', 'ecs.amazonaws.com'],
  ['email-smtp.us-east-1.amazonaws.com', 'email-smtp.amazonaws.com'],
  ['runtime.sagemaker.us-east-1.amazonaws.com', 'sagemaker.amazonaws.com'],
  ['bedrock-runtime.us-west-2.amazonaws.com', 'bedrock-runtime.amazonaws.com'],
  ['xray.us-iso-east-1.amazonaws.com', 'xray.amazonaws.com'],
  // Regional, global, GovCloud and FIPS service endpoints.
  ['ec2.amazonaws.com', 'ec2.amazonaws.com'],
  ['ec2-fips.us-east-1.amazonaws.com', 'ec2.amazonaws.com'],
  ['ec2.us-gov-east-1.amazonaws.com', 'ec2.amazonaws.com'],
  ['ec2-3-4-5-6.us-gov-west-1.compute.amazonaws.com', 'ec2.amazonaws.com'],
  ['dynamodb-fips.us-east-1.amazonaws.com', 'dynamodb.amazonaws.com'],
  ['dynamodb.us-gov-west-1.amazonaws.com', 'dynamodb.amazonaws.com'],
  ['123456789012.ddb.us-east-1.amazonaws.com', 'dynamodb.amazonaws.com'],
  ['sqs-fips.us-east-1.amazonaws.com', 'sqs.amazonaws.com'],
  ['lambda-fips.us-east-1.amazonaws.com', 'lambda.amazonaws.com'],
  ['secretsmanager-fips.us-east-1.amazonaws.com', 'secretsmanager.amazonaws.com'],
  ['email-smtp-fips.us-east-1.amazonaws.com', 'email-smtp.amazonaws.com'],
  ['runtime-fips.sagemaker.us-east-1.amazonaws.com', 'sagemaker.amazonaws.com'],
  ['apigateway-fips.us-east-1.amazonaws.com', 'apigateway.amazonaws.com'],
  ['cloudfront.amazonaws.com', 'cloudfront.amazonaws.com'],
  ['organizations.us-east-1.amazonaws.com', 'organizations.amazonaws.com'],
  ['sns.us-east-1.amazonaws.com', 'sns.amazonaws.com'],
  ['kinesis.us-east-1.amazonaws.com', 'kinesis.amazonaws.com'],
  ['elasticloadbalancing.us-east-1.amazonaws.com', 'elasticloadbalancing.amazonaws.com'], // the ELB API
  ['api.ecr-public.us-east-1.amazonaws.com', 'ecr-public.amazonaws.com'],
  ['git-codecommit.us-east-1.amazonaws.com', 'git-codecommit.amazonaws.com'],
  // S3: virtual-hosted, website (dot and dash forms), accelerate, access points, Object
  // Lambda, Express One Zone, dualstack, FIPS, China.
  ['bucket.s3-website.us-east-2.amazonaws.com', 's3.amazonaws.com'],
  ['bucket.s3-website-ap-southeast-2.amazonaws.com', 's3.amazonaws.com'],
  ['bucket.s3-website.cn-northwest-1.amazonaws.com.cn', 's3.amazonaws.com'],
  ['bucket.s3-accelerate.amazonaws.com', 's3.amazonaws.com'],
  ['bucket.s3-accelerate.dualstack.amazonaws.com', 's3.amazonaws.com'],
  ['myap-123456789012.s3-accesspoint.dualstack.us-east-1.amazonaws.com', 's3.amazonaws.com'],
  ['myap-123456789012.s3-accesspoint-fips.us-east-1.amazonaws.com', 's3.amazonaws.com'],
  ['ap-123456789012.s3-accesspoint.cn-north-1.amazonaws.com.cn', 's3.amazonaws.com'],
  ['my-olap-123456789012.s3-object-lambda.us-east-1.amazonaws.com', 's3.amazonaws.com'],
  ['bucket--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com', 's3.amazonaws.com'],
  ['s3express-control.us-west-2.amazonaws.com', 's3.amazonaws.com'],
  ['bucket.s3-fips.dualstack.us-gov-west-1.amazonaws.com', 's3.amazonaws.com'],
  ['bucket.s3.cn-north-1.amazonaws.com.cn', 's3.amazonaws.com'],
  ['s3.dualstack.cn-north-1.amazonaws.com.cn', 's3.amazonaws.com'],
  // Interface VPC endpoints (regional and zonal DNS names), S3 through PrivateLink.
  ['vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com', 's3.amazonaws.com'],
  ['accesspoint.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com', 's3.amazonaws.com'],
  ['control.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com', 's3.amazonaws.com'],
  ['vpce-0a1b2c3d4e5f-abcdefgh.ssm.us-east-1.vpce.amazonaws.com', 'ssm.amazonaws.com'],
  ['vpce-0a1b2c3d4e5f-abcdefgh-us-east-1a.ssm.us-east-1.vpce.amazonaws.com', 'ssm.amazonaws.com'],
  ['vpce-0123456789abcdef0-abcdefgh.execute-api.us-east-1.vpce.amazonaws.com', 'execute-api.amazonaws.com'],
  // Load balancers (classic, ALB, NLB; dualstack and ipv6 prefixes; China) and API Gateway.
  ['my-nlb-0123456789abcdef.elb.us-east-1.amazonaws.com', 'elb.amazonaws.com'],
  ['my-clb-1234567890.us-west-2.elb.amazonaws.com', 'elb.amazonaws.com'],
  ['ipv6.my-clb-1234567890.us-west-2.elb.amazonaws.com', 'elb.amazonaws.com'],
  ['my-lb-1234.cn-north-1.elb.amazonaws.com.cn', 'elb.amazonaws.com'],
  ['a1b2c3-vpce-0123456789abcdef0.execute-api.us-east-1.amazonaws.com', 'execute-api.amazonaws.com'],
  ['abc123.execute-api.cn-north-1.amazonaws.com.cn', 'execute-api.amazonaws.com'],
  // Data-plane names of managed services: resource labels left of the service label.
  ['my-cluster.abc123.0001.use1.cache.amazonaws.com', 'cache.amazonaws.com'],
  ['examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com', 'redshift.amazonaws.com'],
  ['wg.123456789012.us-east-1.redshift-serverless.amazonaws.com', 'redshift-serverless.amazonaws.com'],
  ['my-db.cluster-abc.us-east-1.docdb.amazonaws.com', 'docdb.amazonaws.com'],
  ['abc123.us-east-1.aoss.amazonaws.com', 'aoss.amazonaws.com'],
  ['b-1234abcd.mq.us-east-1.amazonaws.com', 'mq.amazonaws.com'],
  ['s-1234abcd.server.transfer.us-east-1.amazonaws.com', 'transfer.amazonaws.com'],
  ['ingest-cell1.timestream.us-east-1.amazonaws.com', 'timestream.amazonaws.com'],
  ['abc.appsync-api.us-east-1.amazonaws.com', 'appsync-api.amazonaws.com'],
  ['c2a3b4c5d6e7f8.credentials.iot.us-east-1.amazonaws.com', 'iot.amazonaws.com'],
  ['EC2.US-EAST-1.AMAZONAWS.COM.', 'ec2.amazonaws.com'],
  // Not amazonaws.com: the ordinary eTLD+1.
  ['ec2.us-east-1.api.aws', 'api.aws'],
  ['d111111abcdef8.cloudfront.net', 'cloudfront.net'],
  ['abcdefghij.lambda-url.us-east-1.on.aws', 'on.aws'],
  ['123456789012.dkr-ecr.us-east-1.on.aws', 'on.aws'],
  ['lambda.us-east-1.api.aws', 'api.aws'],
  ['public.ecr.aws', 'ecr.aws'],
  ['E2ABCDEF123456.cloudfront.net', 'cloudfront.net'],
  ['abc.us-east-1.awsapprunner.com', 'awsapprunner.com'],
  ['a1234567890abcdef.awsglobalaccelerator.com', 'awsglobalaccelerator.com'],
  ['bucket.s3.us-west-2.amazonaws.com.evil.example', 'evil.example'],
  ['myenv.us-east-1.elasticbeanstalk.com', 'elasticbeanstalk.com'],
  ['amazonaws.com', 'amazonaws.com'],
  ['amazonaws.com.cn', 'amazonaws.com.cn'],
  ['notamazonaws.com', 'notamazonaws.com'],
  ['s3.amazonaws.com.evil.example', 'evil.example'],
];

// [name, registeredDomain, domainGroup]
const ETLD_TABLE: [string, string | undefined, string][] = [
  ['www.example.com', 'example.com', 'example.com'],
  ['a.b.c.example.com', 'example.com', 'example.com'],
  ['www.bbc.co.uk', 'bbc.co.uk', 'bbc.co.uk'],
  ['news.abc.net.au', 'abc.net.au', 'abc.net.au'],
  ['shop.example.com.au', 'example.com.au', 'example.com.au'],
  ['user.github.io', 'github.io', 'github.io'],
  ['other.github.io', 'github.io', 'github.io'],
  ['foo.herokuapp.com', 'herokuapp.com', 'herokuapp.com'],
  ['WWW.Example.COM', 'example.com', 'example.com'],
  ['www.example.com.', 'example.com', 'example.com'],
  ['xn--r8jz45g.jp', 'xn--r8jz45g.jp', 'xn--r8jz45g.jp'],
  ['www.例え.jp', 'xn--r8jz45g.jp', 'xn--r8jz45g.jp'],
  ['www.xn--mnchen-3ya.de', 'xn--mnchen-3ya.de', 'xn--mnchen-3ya.de'],
  ['a.b.kawasaki.jp', 'a.b.kawasaki.jp', 'a.b.kawasaki.jp'],
  ['www.city.kawasaki.jp', 'city.kawasaki.jp', 'city.kawasaki.jp'],
  ['_sip._tcp.example.org', 'example.org', 'example.org'],
  ['co.uk', undefined, 'co.uk'],
  ['com', undefined, 'com'],
  ['localhost', undefined, 'localhost'],
  ['192.0.2.1', undefined, '192.0.2.1'],
  ['2001:DB8::1', undefined, '2001:db8::1'],
  ['[2001:db8::1]', undefined, '2001:db8::1'],
];

describe('classify/domain', () => {
  describe('AWS names group by service', () => {
    it('has at least 60 AWS endpoint names', () => {
      assert.ok(AWS_TABLE.filter(([n]) => /amazonaws\.com(\.cn)?\.?$/i.test(n)).length >= 60);
    });
    for (const [name, group] of AWS_TABLE) {
      it(`${name} → ${group}`, () => assert.equal(domainGroup(name), group));
    }
    it('awsServiceGroup leaves other names alone', () => {
      assert.equal(awsServiceGroup('www.example.com'), undefined);
      assert.equal(awsServiceGroup('amazonaws.com'), undefined);
    });
  });

  describe('eTLD+1 (ICANN section only)', () => {
    for (const [name, reg, group] of ETLD_TABLE) {
      it(`${name} → ${String(reg)} / ${group}`, () => {
        assert.equal(registeredDomain(name), reg);
        assert.equal(domainGroup(name), group);
      });
    }
  });
});
