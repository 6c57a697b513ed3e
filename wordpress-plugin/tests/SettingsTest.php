<?php
use PHPUnit\Framework\TestCase;

final class SettingsTest extends TestCase {

	public function test_valid_values_are_kept_and_checkboxes_off_when_missing() {
		list( $out, $errors ) = Newsrec_Settings::validate(
			array(
				'service_url' => 'https://recs.example.com/',
				'public_url'  => '',
				'n'           => '8',
				'cache_ttl'   => '0',
				'timeout'     => '3',
				'window'      => '24h',
				'widget'      => '1',
				'related_title' => "  Read <b>more</b>\n ",
			),
			array()
		);
		$this->assertSame( array(), $errors );
		$this->assertSame( 'https://recs.example.com', $out['service_url'] );
		$this->assertSame( 8, $out['n'] );
		$this->assertSame( 0, $out['cache_ttl'] );
		$this->assertSame( '24h', $out['window'] );
		$this->assertSame( 1, $out['widget'] );
		$this->assertSame( 0, $out['auto_place'] );
		$this->assertSame( 'Read more', $out['related_title'] );
	}

	public function test_bad_values_keep_the_previous_ones_and_are_named() {
		$previous             = array_merge( Newsrec_Settings::defaults(), array( 'service_url' => 'http://127.0.0.1:8000', 'n' => 6 ) );
		list( $out, $errors ) = Newsrec_Settings::validate(
			array(
				'service_url' => 'javascript:alert(1)',
				'n'           => '500',
				'cache_ttl'   => '-1',
				'timeout'     => 'x',
				'window'      => '2w',
			),
			$previous
		);
		$this->assertSame( 'http://127.0.0.1:8000', $out['service_url'] );
		$this->assertSame( 6, $out['n'] );
		$this->assertSame( array( 'service_url', 'n', 'cache_ttl', 'timeout', 'window' ), array_column( $errors, 0 ) );
	}
}
